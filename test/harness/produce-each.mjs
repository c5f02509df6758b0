// Producer process for batched cases: loads a fixture, dumps each case SEPARATELY (one failing case does not
// hide the others), and writes { cases: { name: { ok, bytes, again?, warnings } | { ok: false, error } } }
// to the output file, itself dumped with pikala (plain data: strings and Uint8Arrays).
//
// Usage: node produce-each.mjs <pikala entry> <fixture> <out file> [options json]
// Options:
//   names      only these cases (default: every export / every key of the fixture's cases)
//   twice      names of cases to dump a second time (determinism: `again` is true when the bytes are equal)
//   load       'import' (default for .mjs/.js), 'require' (default for .cjs), 'vm' (the fixture is a script
//              run with vm.runInThisContext; its completion value is the cases object)
//   worker     run all of the above inside a worker thread
//
// A fixture's cases are its named exports (ESM), its module.exports keys (CommonJS) or the keys of the vm
// script's completion value. An export marked `pikalaFixtureFactory` is called (and awaited) first.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

async function produceAll(pikalaEntry, fixture, options) {
  const pikala = pikalaEntry.includes('/cjs/')
    ? createRequire(import.meta.url)(pikalaEntry) : await import(pathToFileURL(pikalaEntry).href);
  const load = options.load ?? (fixture.endsWith('.cjs') ? 'require' : 'import');
  let cases;
  if (load === 'vm') {
    cases = vm.runInThisContext(readFileSync(fixture, 'utf8'), { filename: fixture });
  } else if (load === 'require') {
    cases = createRequire(import.meta.url)(fixture);
  } else {
    const ns = await import(pathToFileURL(fixture).href);
    cases = {};
    for (const k of Object.keys(ns)) if (k !== 'default') cases[k] = ns[k];
  }
  const warnings = [];
  process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));
  const names = options.names ?? Object.keys(cases);
  const out = {};
  for (const name of names) {
    let value = cases[name];
    const entry = {};
    try {
      if (typeof value === 'function' && value.pikalaFixtureFactory) value = await value();
      entry.bytes = pikala.dumps(value);
      entry.ok = true;
      if (options.twice?.includes(name)) {
        const again = pikala.dumps(value);
        entry.again = again.length === entry.bytes.length && again.every((b, i) => b === entry.bytes[i]);
      }
    } catch (e) {
      entry.ok = false;
      entry.error = { name: e?.name, code: e?.code, path: e?.path, message: String(e?.message ?? e) };
    }
    // Warnings are emitted on the next tick: let them arrive and attribute them to this case.
    await new Promise((r) => setImmediate(r));
    entry.warnings = warnings.splice(0);
    out[name] = entry;
  }
  return pikala.dumps({ cases: out });
}

if (isMainThread) {
  const [pikalaEntry, fixture, outFile, optionsJson] = process.argv.slice(2);
  const options = optionsJson ? JSON.parse(optionsJson) : {};
  let bytes;
  if (options.worker) {
    bytes = await new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { pikalaEntry, fixture, options } });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`producer worker exited (${code}) without a result`)));
    });
  } else {
    bytes = await produceAll(pikalaEntry, fixture, options);
  }
  writeFileSync(outFile, bytes);
} else {
  const { pikalaEntry, fixture, options } = workerData;
  parentPort.postMessage(await produceAll(pikalaEntry, fixture, options));
}
