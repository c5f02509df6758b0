// The pool's contract: closures with captured state run on worker threads; arguments, results and errors
// travel with pikala; map, imap and imapUnordered; close() and process exit (issue: local compute).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as wt from 'node:worker_threads';
import { Pool, PikalaError } from '../../dist/esm/index.js';
import { FIXTURES, PIKALA_CJS, PIKALA_ESM, ROOT } from '../harness/roundtrip.mjs';
import {
  Interval, TaskError, add, countCalls, describeMap, failOn, makeInterval, scaleArray, slowDouble, square, transform,
} from '../fixtures/pool/work.mjs';

const run = promisify(execFile);
const pool = new Pool({ size: 2 });
after(() => pool.close());

test('run: a closure over configuration, a helper and a class instance', async () => {
  assert.deepEqual(await pool.run(transform, 10), { label: 'scaled', value: 30.5, inside: true });
  assert.deepEqual(await pool.run(transform, 200), { label: 'scaled', value: 100, inside: false });
});

test('run: the function really runs on another thread (node: modules travel by reference)', async () => {
  const ids = await pool.map(() => wt.threadId, [1, 2, 3, 4]);
  for (const id of ids) assert.ok(id !== wt.threadId && id > 0, `ran on thread ${id}`);
  assert.equal(await pool.run(() => wt.isMainThread), false);
});

test('run: several arguments, primitives and objects, sync and async functions', async () => {
  assert.equal(await pool.run(add, 2, 40), 42);
  assert.equal(await pool.run(add, 'a', 'b'), 'ab');
  assert.equal(await pool.run(add, 1n, 2n), 3n);
  assert.equal(await pool.run(slowDouble, 21), 42);
  assert.equal(await pool.run(describeMap, new Map([['a', 1], ['b', 2]])), 'a=1,b=2');
  assert.ok(Object.is(await pool.run((x) => -x, 0), -0));
  assert.equal(await pool.run(() => undefined), undefined);
});

test('run: results keep their class (the caller\'s own class) and their graph', async () => {
  const iv = await pool.run(makeInterval, 2, 5);
  assert.ok(iv instanceof Interval, 'the result is an instance of the main thread\'s Interval');
  assert.equal(iv.width, 3);
  const g = await pool.run(() => { const a = { name: 'a' }; a.self = a; return { a, list: [a, a], when: new Date(0), set: new Set([1]) }; });
  assert.equal(g.a.self, g.a);
  assert.equal(g.list[0], g.list[1]);
  assert.ok(g.when instanceof Date);
  assert.ok(g.set.has(1));
});

test('run: a function returned by a task comes back as a working closure', async () => {
  const counter = await pool.run((start) => { let n = start; return () => ++n; }, 10);
  assert.equal(counter(), 11);
  assert.equal(counter(), 12);
});

test('errors keep their class, message, cause, extra properties and the remote stack', async () => {
  const err = await pool.run(failOn, 7).then(() => null, (e) => e);
  assert.ok(err instanceof TaskError, 'same class as on the main thread');
  assert.equal(err.message, 'bad item 7');
  assert.equal(err.item, 7);
  assert.ok(err.cause instanceof RangeError);
  assert.equal(err.cause.message, 'seven');
  assert.match(err.stack, /TaskError: bad item 7/);
  assert.match(err.stack, /failOn|work\.mjs|pikala-code/, 'the stack is the worker\'s');
  assert.equal(await pool.run(failOn, 1), 1);
});

test('errors: thrown non-errors and async rejections arrive as thrown', async () => {
  await assert.rejects(pool.run(() => { throw 'plain string'; }), (e) => e === 'plain string');
  await assert.rejects(pool.run(async () => { throw new TypeError('async'); }), TypeError);
  await assert.rejects(pool.run(() => { throw { code: 42 }; }), (e) => e.code === 42);
});

test('errors: an argument or result pikala cannot serialize is a PikalaError', async () => {
  const gen = (function* () {})();
  await assert.rejects(pool.run((x) => x, gen), (e) => e instanceof PikalaError && e.code === 'PIKALA_UNSUPPORTED');
  await assert.rejects(pool.run(() => (function* () {})()),
    (e) => e instanceof PikalaError && e.code === 'PIKALA_UNSUPPORTED' && /result cannot be sent back/.test(e.message));
  // The pool goes on.
  assert.equal(await pool.run(square, 9), 81);
});

test('errors: an error that cannot be serialized arrives as an Error with its message and stack', async () => {
  const e = await pool.run(() => { const e = new Error('with a generator'); e.gen = (function* () {})(); throw e; }).catch((x) => x);
  assert.ok(e instanceof Error);
  assert.match(e.message, /with a generator/);
  assert.match(e.message, /could not be sent back/);
  assert.match(e.stack, /with a generator/);
});

test('map: results in input order, any iterable, typed arrays, empty input', async () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(await pool.map(square, xs), xs.map((x) => x * x));
  assert.deepEqual(await pool.map((x, i) => [x, i], ['a', 'b', 'c']), [['a', 0], ['b', 1], ['c', 2]]);
  assert.deepEqual(await pool.map(square, new Set([1, 2, 3])), [1, 4, 9]);
  assert.deepEqual(await pool.map(square, new Float64Array([1.5, 2])), [2.25, 4]);
  assert.deepEqual(await pool.map(square, []), []);
  assert.deepEqual(await pool.map(transform, [1, 2]), [transform(1), transform(2)]);
  async function* gen() { for (let i = 0; i < 50; i++) { await null; yield i; } }
  assert.deepEqual(await pool.map(square, gen()), Array.from({ length: 50 }, (_, i) => i * i));
});

test('run: large typed arrays travel without a copy on load (views over the task and result payloads)', async () => {
  const input = Float64Array.from({ length: 200_000 }, (_, i) => i / 3);
  const { out, inputWasView } = await pool.run(scaleArray, input, 2);
  assert.equal(inputWasView, true, 'the worker got a view over its task payload');
  assert.ok(out.buffer.byteLength > out.byteLength, 'the result is a view over its result payload');
  assert.equal(out.length, input.length);
  for (const i of [0, 1, 77_777, 199_999]) assert.equal(out[i], input[i] * 2);
  out[0] = 5; // the result owns its memory as far as anyone can tell
  assert.equal(out[0], 5);
});

test('map: objects in and out, chunkSize, concurrency and progress', async () => {
  const items = Array.from({ length: 100 }, (_, i) => new Interval(i, i * 2));
  const seen = [];
  const out = await pool.map((iv) => ({ w: iv.width, ok: iv instanceof Object }), items, {
    chunkSize: 7, concurrency: 2, onProgress: (done, total) => seen.push([done, total]),
  });
  assert.deepEqual(out.map((o) => o.w), items.map((iv) => iv.width));
  assert.equal(seen.length, Math.ceil(100 / 7));
  assert.deepEqual(seen.at(-1), [100, 100]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0]);
});

test('map: the first failing item rejects the call with the thrown error', async () => {
  await assert.rejects(pool.map(failOn, Array.from({ length: 20 }, (_, i) => i)), (e) => e instanceof TaskError && e.item === 7);
  await assert.rejects(pool.map((x) => x, [1, { ok: 1 }, { gen: (function* () {})() }], { chunkSize: 3 }),
    (e) => e instanceof PikalaError && e.code === 'PIKALA_UNSUPPORTED' && /^item 2 of pool\.map .*root\.gen/.test(e.message));
});

test('imap: results stream in input order; imapUnordered in completion order with indexes', async () => {
  const xs = Array.from({ length: 30 }, (_, i) => i);
  const ordered = [];
  for await (const v of pool.imap(slowDouble, xs)) ordered.push(v);
  assert.deepEqual(ordered, xs.map((x) => x * 2));
  const unordered = [];
  for await (const [i, v] of pool.imapUnordered(slowDouble, xs)) unordered.push([i, v]);
  assert.deepEqual(unordered.sort((a, b) => a[0] - b[0]), xs.map((x) => [x, x * 2]));
});

test('imap: breaking out of the loop stops the work; an infinite source is consumed lazily', async () => {
  let pulled = 0;
  function* naturals() { for (let i = 0; ; i++) { pulled++; yield i; } }
  const got = [];
  for await (const v of pool.imap(square, naturals())) { got.push(v); if (got.length === 5) break; }
  assert.deepEqual(got, [0, 1, 4, 9, 16]);
  assert.ok(pulled < 100_000, `pulled ${pulled} items`);
  assert.equal(await pool.run(square, 3), 9);
});

test('a shipped function\'s captured state lives on in each worker across tasks', async () => {
  const p = new Pool({ size: 1 });
  try {
    assert.deepEqual([await p.run(countCalls), await p.run(countCalls), await p.run(countCalls)], [1, 2, 3]);
    assert.equal(countCalls(), 1, 'the main thread\'s copy is untouched');
  } finally {
    await p.close();
  }
});

test('a function is serialized when the pool first sees it; forget() takes a new snapshot', async () => {
  const p = new Pool({ size: 1 });
  try {
    let factor = 2;
    const times = (x) => x * factor;
    assert.equal(await p.run(times, 5), 10);
    factor = 3;
    assert.equal(await p.run(times, 5), 10, 'the snapshot is reused');
    p.forget(times);
    assert.equal(await p.run(times, 5), 15);
    assert.equal((await p.stats()).functionsSerialized, 2);
  } finally {
    await p.close();
  }
});

test('close(): pending tasks finish, later calls are refused, workers stop', async () => {
  const p = new Pool({ size: 2 });
  const pending = Array.from({ length: 20 }, (_, i) => p.run(slowDouble, i));
  const closed = p.close();
  await assert.rejects(p.run(square, 1), (e) => e instanceof PikalaError && e.code === 'PIKALA_POOL_CLOSED');
  await assert.rejects(p.map(square, [1]), (e) => e.code === 'PIKALA_POOL_CLOSED');
  await assert.rejects(p.imap(square, [1]).next(), (e) => e.code === 'PIKALA_POOL_CLOSED');
  assert.deepEqual(await Promise.all(pending), Array.from({ length: 20 }, (_, i) => i * 2));
  await closed;
  assert.deepEqual((await p.stats()).workers, []);
});

test('terminate(): pending tasks reject with PIKALA_POOL_CLOSED', async () => {
  const p = new Pool({ size: 1 });
  const pending = assert.rejects(p.run(() => new Promise((r) => setTimeout(r, 10_000))), (e) => e.code === 'PIKALA_POOL_CLOSED');
  const queued = assert.rejects(p.run(square, 2), (e) => e.code === 'PIKALA_POOL_CLOSED');
  await new Promise((r) => setTimeout(r, 50));
  await p.terminate();
  await pending;
  await queued;
});

test('a script that never calls close() still exits (idle workers do not keep it alive)', async () => {
  const script = `
    import { Pool } from ${JSON.stringify(PIKALA_ESM)};
    const pool = new Pool({ size: 2 });
    const k = 7;
    console.log(await pool.run((x) => x * k, 6), (await pool.map((x) => x + k, [1, 2])).join());`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 30_000 });
  assert.equal(stdout.trim(), '42 8,9');
});

test('the CommonJS build: require("pikala") pool runs a closure from a CommonJS module', async () => {
  const require = createRequire(import.meta.url);
  const { Pool: CjsPool } = require(PIKALA_CJS);
  const { addBase } = require(join(FIXTURES, 'pool/work.cjs'));
  const p = new CjsPool({ size: 1 });
  try {
    assert.equal(await p.run(addBase, 5), 15);
    assert.deepEqual(await p.map(addBase, [1, 2, 3]), [11, 12, 13]);
  } finally {
    await p.close();
  }
  const script = `
    const { Pool } = require(${JSON.stringify(PIKALA_CJS)});
    const { addBase } = require(${JSON.stringify(join(FIXTURES, 'pool/work.cjs'))});
    const pool = new Pool({ size: 1 });
    pool.map(addBase, [1, 2]).then((r) => { console.log(r.join()); return pool.close(); });`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, timeout: 30_000 });
  assert.equal(stdout.trim(), '11,12');
});

test('argument validation', async () => {
  assert.throws(() => new Pool({ size: 0 }), RangeError);
  await assert.rejects(pool.run(42), TypeError);
  await assert.rejects(pool.map(square, 42), TypeError);
  await assert.rejects(pool.map(square, [1], { chunkSize: 0 }), RangeError);
  await assert.rejects(pool.exec(square, [1], { timeout: -1 }), RangeError);
});

test('workers inherit the main thread\'s flags: --disallow-code-generation-from-strings applies to them too', async () => {
  const script = `
    import { Pool } from ${JSON.stringify(PIKALA_ESM)};
    const pool = new Pool({ size: 1 });
    const k = 2;
    const evalIn = () => { try { globalThis.eval('1'); return 'allowed'; } catch { return 'blocked'; } };
    console.log(await pool.run((x) => x * k, 21), await pool.run(evalIn));
    await pool.close();`;
  const { stdout } = await run(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
    { cwd: ROOT, timeout: 30_000 });
  assert.equal(stdout.trim(), '42 blocked');
});
