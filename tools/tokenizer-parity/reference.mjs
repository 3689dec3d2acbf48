// Reference ids for Owlbox's CLIP tokenizer parity test, from Hugging Face's own tokenizers library (Rust, via npm).
// Regenerate after changing corpus.json:
//   npm ci && node reference.mjs ../../tests/Owlbox.Detection.Tests/Fixtures/clip-tokenizer/tokenizer.json > ../../tests/Owlbox.Detection.Tests/Fixtures/clip-tokenizer/parity.json
import { readFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";

const tokenizer = await Tokenizer.fromFile(process.argv[2]);
const corpus = JSON.parse(readFileSync(new URL("./corpus.json", import.meta.url), "utf8"));
const cases = [];
for (const text of corpus) {
  const encoding = await tokenizer.encode(text);
  cases.push({ text, ids: encoding.getIds() });
}
const version = JSON.parse(readFileSync(new URL("./node_modules/tokenizers/package.json", import.meta.url), "utf8")).version;
// One case a line: a change to the reference shows as the lines it changes.
process.stdout.write(`{"generator": ${JSON.stringify("tokenizers (npm) " + version)}, "cases": [\n${cases.map(c => JSON.stringify(c)).join(",\n")}\n]}\n`);
