// Consumer process: loads a payload in a fresh process, applies a check function to it, and writes the
// check's result back (dumped with pikala, so results may be any serializable value).
// Usage: node consume.mjs <pikala entry> <payload file> <check source file> <result file> [load options json]
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [pikalaEntry, payloadFile, checkFile, resultFile, optionsJson] = process.argv.slice(2);
const pikala = await import(pathToFileURL(pikalaEntry).href);
const options = optionsJson ? JSON.parse(optionsJson) : undefined;
let result;
try {
  const value = pikala.loads(readFileSync(payloadFile), options);
  const check = (0, eval)(`(${readFileSync(checkFile, 'utf8')})`);
  result = { ok: true, value: await check(value, { pikala }) };
} catch (e) {
  result = { ok: false, error: { name: e?.name, message: e?.message, code: e?.code, path: e?.path, stack: e?.stack } };
}
let bytes;
try {
  bytes = pikala.dumps(result);
} catch (e) {
  bytes = pikala.dumps({ ok: false, error: { name: 'ResultNotSerializable', message: String(e?.message) } });
}
writeFileSync(resultFile, bytes);
