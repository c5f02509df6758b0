/**
 * Reproductions of pikala bugs found by these suites that live outside the data codecs. They were todo tests
 * until the bugs were fixed (da0e2fd); they now guard against regressions. A newly found bug goes here as a
 * todo test that fails until it is fixed — then drop the todo.
 */
import './support.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PIKALA_ESM } from '../harness/roundtrip.mjs';
import { dumps, loads } from '../../dist/esm/index.js';

const run = promisify(execFile);

test('dumps keeps working after V8 flushes the bytecode of its natives helpers', async () => {
  // Forces the major GCs after which V8 flushes the bytecode of functions that did not run.
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    const { dumps } = await import(process.argv[1]);
    let majors = 0;
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; });
    obs.observe({ entryTypes: ['gc'] });
    dumps({ a: 1 });
    for (let round = 0; round < 3000 && majors < 10; round++) {
      const junk = []; for (let j = 0; j < 50; j++) junk.push(new Array(20000).fill(round));
      await new Promise((r) => setImmediate(r));
    }
    obs.disconnect();
    try { dumps({ a: 1 }); console.log(JSON.stringify({ ok: true, majors })); }
    catch (e) { console.log(JSON.stringify({ ok: false, majors, error: String(e) })); }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, PIKALA_ESM], { timeout: 60_000 });
  const result = JSON.parse(stdout);
  assert.ok(result.majors >= 10, 'the script did not get the major GCs it needs to show the bug');
  assert.equal(result.error, undefined);
});

test('a null-prototype object reached before any plain record', () => {
  for (const value of [Object.create(null), [Object.create(null)], new Map([[1, Object.create(null)]])]) {
    assert.doesNotThrow(() => loads(dumps(value)));
  }
});

test('an array that has served as a prototype dumps like an equal array', () => {
  const a = [1, 2];
  Object.create(a);
  assert.deepEqual(dumps(a), dumps([1, 2]));
});

test('an Error whose message is the error itself dumps (its stack not yet read)', () => {
  const e = new Error('x');
  e.message = e;
  assert.doesNotThrow(() => loads(dumps(e)));
});
