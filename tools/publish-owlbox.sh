#!/usr/bin/env bash
# Publishes the owlbox executable ahead-of-time compiled (ReadyToRun) into out/owlbox: a new process then runs its
# bus pipeline, writer and engine code without compiling them first. Measured (BENCHMARKS.md): a re-prompt of 200
# cached B/32 images 0.71-0.74 s -> 0.52-0.56 s; a fresh 24-image job 8.53-8.62 s -> 8.34-8.40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish app/Owlbox.Cli -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true \
  -o out/owlbox -v quiet -nologo "$@"
