// Consumer process for batched cases (like consume.mjs, whose protocol it keeps), but it compiles the check with
// vm.runInThisContext instead of eval, so it also runs under --disallow-code-generation-from-strings.
// Usage: node consume-each.mjs <pikala entry> <payload file> <check source file> <result file>
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

const [pikalaEntry, payloadFile, checkFile, resultFile] = process.argv.slice(2);
const pikala = await import(pathToFileURL(pikalaEntry).href);
let result;
try {
  const value = pikala.loads(readFileSync(payloadFile));
  const check = vm.runInThisContext(`(${readFileSync(checkFile, 'utf8')}\n)`, {
    filename: checkFile, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ?? ((s) => import(s)),
  });
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
