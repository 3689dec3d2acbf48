// transformers.js side of the benchmark: its zero-shot-object-detection pipeline on local model files only.
// argv: <models dir> <model name> <images dir> <queries joined by |> <threads> [dtype: fp32 | q8]. Prints one JSON line.
import { pipeline, env, RawImage } from '@huggingface/transformers';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const [modelsDir, model, imagesDir, queries, threads, dtype = 'fp32'] = process.argv.slice(2);
env.allowRemoteModels = false;
env.localModelPath = modelsDir;
if (env.backends?.onnx) { env.backends.onnx.numThreads = Number(threads); }
const detector = await pipeline('zero-shot-object-detection', model, {
  dtype, session_options: { intraOpNumThreads: Number(threads), interOpNumThreads: 1 } });
const labels = queries.split('|');
const files = readdirSync(imagesDir).filter(f => /\.(jpe?g|png)$/i.test(f)).sort();
await detector(await RawImage.read(join(imagesDir, files[0])), labels, { threshold: 0.1 }); // warm-up
const t0 = performance.now();
let boxes = 0;
for (const f of files) {
  boxes += (await detector(await RawImage.read(join(imagesDir, f)), labels, { threshold: 0.1 })).length;
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ images: files.length, seconds, imagesPerSecond: files.length / seconds, boxes, maxRssMB: peakRssMB() }));

// VmHWM belongs to this process's own memory; getrusage's maxRSS survives exec and so reports the parent's peak.
function peakRssMB() {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find(l => l.startsWith('VmHWM:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}
