#!/usr/bin/env bash
# Clones into models/ every model the block's parameters.json offers (Model select), as published on the Hugging Face
# hub, with only the ONNX files the block loads (fp32 and int8; the Weights select). Needs git and git-lfs.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in $(grep -o '"value": "/models/[^"]*"' parameters.json | sed 's#.*"/models/\([^"]*\)"#\1#' | sort -u); do
  if [ -d "models/$dir" ]; then
    echo "models/$dir is there already"
    continue
  fi
  GIT_LFS_SKIP_SMUDGE=1 git clone --depth 1 "https://huggingface.co/Xenova/$dir" "models/$dir"
  (cd "models/$dir" && git lfs pull --include "onnx/model.onnx,onnx/model_quantized.onnx")
done
