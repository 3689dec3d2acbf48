#!/usr/bin/env bash
# Runs the Edge Impulse block against the local Studio emulator, as Studio would run it, on a copy of the sample
# images: starts the emulator, runs `owlbox block` in apply mode (or preview: ./block-demo.sh --propose-actions 1),
# prints the samples' boxes as the emulator now holds them, and stops the emulator.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf out/ei && mkdir -p out/ei && cp samples/shapes/*.jpg samples/shapes/*.png out/ei/
dotnet build tools/Owlbox.EdgeImpulseEmulator -c Release -v quiet -nologo
dotnet build app/Owlbox.Cli -c Release -v quiet -nologo
export EI_PROJECT_API_KEY=ei_demo_key EI_API_ENDPOINT=http://127.0.0.1:5005/v1
dotnet tools/Owlbox.EdgeImpulseEmulator/bin/Release/net10.0/owlbox-ei-emulator.dll out/ei --urls http://127.0.0.1:5005 --api-key "$EI_PROJECT_API_KEY" &
emulator=$!
trap 'kill $emulator 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf -H "x-api-key: $EI_PROJECT_API_KEY" "$EI_API_ENDPOINT/api/projects" >/dev/null && break; sleep 0.2; done
echo '[1, 2, 3, 4, 5, 6]' > out/ei/ids.json
dotnet app/Owlbox.Cli/bin/Release/net10.0/owlbox.dll block --data-ids-file out/ei/ids.json --model models/owlv2-test \
  --prompt 'red square (red, 0.5)\ngreen block (green, 0.5)\na blue thing (blue, 0.5)\nyellow (yellow)' \
  --delete_existing_bounding_boxes matching-prompt --nms --nms-iou-threshold 0.2 "$@" || true
echo
for id in 1 2 3 4 5 6; do
  curl -s -H "x-api-key: $EI_PROJECT_API_KEY" "$EI_API_ENDPOINT/api/1/raw-data/$id" | python3 -c 'import json,sys; s=json.load(sys.stdin)["sample"]; print(s["id"], s["filename"], [(b["label"], b["x"], b["y"], b["width"], b["height"]) for b in s["boundingBoxes"]])'
done
