#!/usr/bin/env bash
# Labels the bundled sample images with the bundled OWLv2-layout test model, in one process (no broker).
# Works on a fresh clone; needs only the .NET 10 SDK. The samples are copied to out/demo first, so the
# committed dataset stays pristine and the demo can be re-run.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download/dotnet/10.0" >&2
  exit 1
fi
rm -rf out/demo && mkdir -p out/demo && cp -r samples/shapes out/demo/shapes
tools/publish-owlbox.sh
dotnet out/owlbox/owlbox.dll label out/demo/shapes \
  --model models/owlv2-test \
  --prompt-file samples/prompt.txt \
  --delete_existing_bounding_boxes matching-prompt \
  --nms --nms-iou-threshold 0.2 "$@"
echo
echo "Boxes written to out/demo/shapes/bounding_boxes.labels; the drawn objects are in samples/shapes-ground-truth.json."
