/**
 * Table-driven cross-process cases, batched: one producer process dumps every case of a fixture (each case
 * dumped on its own, so one failure does not hide the others), one fresh consumer process loads every
 * payload and runs every case's check; each case is still its own `test()` with its own assertion.
 *
 *   cases(fixture, opts, [
 *     { title, name: 'exportName', check: (v, ctx) => plainData, expect: plainData },
 *     { title, name: 'gen', error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.gen', message: /generator/ } },
 *     { title, name: 'x', warnings: ['PIKALA_SHARED_SCOPE_ASSUMED'], check, expect },
 *     { title, name: 'x', deterministic: true },
 *     { ..., todo: 'short reason' },           // a known pikala bug: the test runs but does not fail the suite
 *   ]);
 *
 * `check` runs in the consumer (sent as source text: it must not close over anything; a string is used as
 * is) with `ctx = { pikala, bytes, compiledByLoad, compiledUnitCount }` (compiledByLoad: how many code units
 * loading this case's payload compiled; compiledUnitCount: pikala's counter, from dist/esm/code/rebuild.js),
 * and its result (plain data) is compared with `expect` (deepStrictEqual).
 * `fixture` is a path under test/fixtures (or absolute), or an async function that returns one (compiled fixtures).
 * Producer options: nodeArgs, env, load ('import' | 'require' | 'vm'), worker (dump in a worker thread).
 * Consumer options: consumer.nodeArgs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loads } from '../../dist/esm/index.js';
import { FIXTURES, PIKALA_ESM, ROOT, tempDir } from './roundtrip.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** Environment for child processes: not a child of this test runner. */
export function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Dumps every case of `fixture` in one producer process; resolves to { name: entry } (see produce-each.mjs). */
export async function produceEach(fixture, opts = {}) {
  const { dir, cleanup } = tempDir('pikala-producer-');
  try {
    const out = join(dir, 'cases.bin');
    const options = { names: opts.names, twice: opts.twice, load: opts.load, worker: opts.worker };
    const args = [...(opts.nodeArgs ?? []), join(here, 'produce-each.mjs'), PIKALA_ESM, resolve(FIXTURES, fixture), out,
      JSON.stringify(options)];
    await run(process.execPath, args, { cwd: opts.cwd ?? ROOT, timeout: opts.timeout ?? 60_000, env: childEnv(opts.env) });
    return loads(readFileSync(out)).cases;
  } finally {
    cleanup();
  }
}

/**
 * Loads `payload` in a fresh consumer process, in an empty temporary folder, and applies `checkSource` (the
 * protocol of roundtrip.mjs `consume`, but through consume-each.mjs, which needs no eval). Options: nodeArgs, env.
 */
export async function consumeSource(payload, checkSource, opts = {}) {
  const { dir, cleanup } = tempDir('pikala-consumer-');
  try {
    const files = { payload: join(dir, 'payload.bin'), check: join(dir, 'check.js'), result: join(dir, 'result.bin') };
    const script = join(dir, 'consume.mjs');
    writeFileSync(files.payload, payload);
    writeFileSync(files.check, checkSource);
    copyFileSync(join(here, 'consume-each.mjs'), script);
    await run(process.execPath, [...(opts.nodeArgs ?? []), script, PIKALA_ESM, files.payload, files.check, files.result],
      { cwd: dir, timeout: opts.timeout ?? 60_000, env: childEnv(opts.env) });
    const result = loads(readFileSync(files.result));
    if (!result.ok) throw Object.assign(new Error(`consumer failed: ${result.error.message}`), result.error);
    return result.value;
  } finally {
    cleanup();
  }
}

/** The consumer check that loads each case's payload and applies that case's check. */
function consumerSource(checks) {
  const entries = checks.map(([id, name, check]) =>
    `  [${JSON.stringify(id)}, ${JSON.stringify(name)}, (${typeof check === 'function' ? check.toString() : check}\n)],\n`);
  return `async (bundle, { pikala }) => {
  const checks = [
${entries.join('')}  ];
  const describe = (e) => ({ name: String(e && e.name), code: e && e.code, path: e && e.path,
    message: String(e && e.message !== undefined ? e.message : e), stack: String(e && e.stack) });
  // The consumer harness runs with pikala's entry as argv[2]: its compile counter is a sibling module.
  const { pathToFileURL } = await import('node:url');
  const { compiledUnitCount } = await import(new URL('./code/rebuild.js', pathToFileURL(process.argv[2])).href);
  const out = {};
  for (const [id, name, check] of checks) {
    try {
      const compiledBefore = compiledUnitCount();
      const value = pikala.loads(bundle[name]);
      const compiledByLoad = compiledUnitCount() - compiledBefore;
      const result = await check(value, { pikala, bytes: bundle[name], compiledByLoad, compiledUnitCount });
      pikala.dumps(result); // must travel back
      out[id] = { ok: true, value: result };
    } catch (e) {
      out[id] = { ok: false, error: describe(e) };
    }
  }
  return out;
}`;
}

/** Registers one test per case; the first one to run starts the producer and consumer for all of them. */
export function cases(fixture, opts, table) {
  let pending = null;
  const start = () => (pending ??= (async () => {
    const twice = table.filter((c) => c.deterministic).map((c) => c.name);
    const names = [...new Set(table.map((c) => c.name))];
    const file = typeof fixture === 'function' ? await fixture() : fixture;
    const produced = await produceEach(file, { ...opts, names, twice });
    const checks = [];
    const bundle = {};
    table.forEach((c, i) => {
      if (!c.check || !produced[c.name]?.ok) return;
      bundle[c.name] = produced[c.name].bytes;
      checks.push([`${i}`, c.name, c.check]);
    });
    let consumed = {};
    if (checks.length !== 0) {
      const { dumps } = await import('../../dist/esm/index.js');
      consumed = await consumeSource(dumps(bundle), consumerSource(checks), opts.consumer ?? {});
    }
    return { produced, consumed };
  })());
  table.forEach((c, i) => {
    test(c.title, c.todo ? { todo: c.todo } : {}, async () => {
      const { produced, consumed } = await start();
      verify(c, produced[c.name], consumed[`${i}`]);
    });
  });
}

/** The assertions for one case (exported for tests that produce their own way). */
export function verify(c, p, r) {
  assert.ok(p, `case ${c.name} was not produced`);
  if (c.error) {
    assert.equal(p.ok, false, `dumps should have failed with ${c.error.code}`);
    assert.equal(p.error.name, 'PikalaError', `not a PikalaError: ${p.error.name}: ${p.error.message}`);
    assert.equal(p.error.code, c.error.code, p.error.message);
    if ('path' in c.error) assert.equal(p.error.path, c.error.path, p.error.message);
    if (c.error.message) assert.match(p.error.message, c.error.message);
    return;
  }
  assert.ok(p.ok, `dumps failed: ${p.error?.name}: ${p.error?.code} ${p.error?.message}`);
  if (c.warnings) {
    assert.deepEqual(p.warnings.map((w) => w.code).filter((x) => x), c.warnings,
      `warnings: ${JSON.stringify(p.warnings)}`);
  } else {
    assert.deepEqual(p.warnings.filter((w) => String(w.code).startsWith('PIKALA')), [], 'unexpected pikala warning');
  }
  if (c.deterministic) assert.equal(p.again, true, 'dumping the same value twice gave different bytes');
  if (c.check) {
    assert.ok(r, 'the consumer did not run this case');
    assert.ok(r.ok, `load/check failed in the consumer: ${r.error?.code ?? ''} ${r.error?.message}\n${r.error?.stack}`);
    assert.deepStrictEqual(r.value, c.expect);
  }
}
