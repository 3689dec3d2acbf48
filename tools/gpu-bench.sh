#!/usr/bin/env bash
# The GPU rows of BENCHMARKS.md, on a CUDA machine (CUDA 12 and cuDNN 9 as ONNX Runtime 1.31's GPU package needs),
# from a clean clone: builds the benchmark with the GPU ONNX Runtime, generates OWL-ViT B/32 and OWLv2 B/16 at their
# real sizes (random weights) with their prepared and fp16 forms, and prints images/s for 1, 8, 32 and 64 images per
# run, fp32 and fp16, bare and end to end. About 5-10 minutes on one H100-class GPU, most of it generating the models.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no NVIDIA GPU here" >&2; exit 1; }
dotnet build tools/Owlbox.Bench -c Release -p:OnnxRuntimeFlavor=Gpu -v q -nologo
exec dotnet tools/Owlbox.Bench/bin/Release/net10.0/owlbox-bench.dll --gpu "$@"
