// Where capture and loading must work: compile cache, --disallow-code-generation-from-strings, no heap growth,
// worker threads, --inspect, node --test, the Node REPL, notebook cells, and the permission model where the
// inspector is unavailable (issue: functions, bullets 7-8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cases, childEnv } from '../harness/batch.mjs';
import { consume, FIXTURES, PIKALA_CJS, PIKALA_ESM, ROOT, tempDir } from '../harness/roundtrip.mjs';

const run = promisify(execFile);

// ------------------------------------------------------------------------------------------ compile cache

cases('functions/env/compile-cache.mjs', {}, [
  { title: 'closures of 100 calls of one factory compile one code unit', name: 'manyCounters',
    check: (v, { compiledByLoad }) => [compiledByLoad, v.length, v[3].inc(), v[4].get()], expect: [1, 100, 4, 4] },
  { title: 'another payload with the same code compiles nothing', name: 'oneMoreCounter',
    check: (v, { compiledByLoad }) => [compiledByLoad, v.inc()], expect: [0, 1001] },
  { title: 'loading the same payload again compiles nothing and gives fresh closures', name: 'madeByNewFunction',
    check: (v, { pikala, bytes, compiledUnitCount }) => {
      const before = compiledUnitCount();
      const again = pikala.loads(bytes);
      const third = pikala.loads(bytes);
      return [compiledUnitCount() - before, again.counter !== v.counter, again.counter.inc(), v.counter.get(), third.add(2, 3)];
    },
    expect: [0, true, 6, 5, 5] },
]);

cases('functions/env/compile-cache.mjs', { consumer: { nodeArgs: ['--disallow-code-generation-from-strings'] } }, [
  { title: '--disallow-code-generation-from-strings: closures load and run (and eval really is off)', name: 'manyCounters',
    check: (v) => { let evalBlocked = false; try { eval('1'); } catch { evalBlocked = true; } return [v[0].inc(), v[1].get(), evalBlocked]; },
    expect: [1, 1, true] },
  { title: '--disallow-code-generation-from-strings: a function made by new Function loads', name: 'madeByNewFunction',
    check: (v) => [v.add(1, 2), v.counter.inc()], expect: [3, 6] },
]);

cases('functions/kinds.mjs', { consumer: { nodeArgs: ['--disallow-code-generation-from-strings'] } }, [
  { title: '--disallow-code-generation-from-strings: a shipped function using dynamic import()', name: 'dynamicImport',
    check: async (f) => f('b'), expect: 'a/b' },
]);

// ------------------------------------------------------------------------------------------ heap

test('10,000 dumps of closures do not grow the heap (inspector handles are released)', async () => {
  const script = join(FIXTURES, 'functions/env/heap.mjs');
  const { stdout } = await run(process.execPath, ['--expose-gc', script, PIKALA_ESM, '10000'],
    { cwd: ROOT, timeout: 120_000, env: childEnv() });
  const r = JSON.parse(stdout);
  assert.equal(r.count, 10_000);
  assert.ok(r.bytes > 10_000 * 1000, 'each dump carried its closure\'s 1000-element array');
  // A leak keeps every 8 KB array alive (~80 MB: `heap.mjs ... leak` shows it); allow 16 MB of noise.
  const growth = r.after - r.before;
  assert.ok(growth < 16 * 1024 * 1024, `heap grew by ${(growth / 1048576).toFixed(1)} MB over 10,000 dumps`);
});

// ------------------------------------------------------------------------------------------ worker threads

cases('functions/env/closures.mjs', { worker: true }, [
  { title: 'worker thread: closures sharing state are captured (sharing assumed, with the warning)', name: 'sharedCounter',
    warnings: ['PIKALA_SHARED_SCOPE_ASSUMED'], check: (v) => [v.inc(), v.inc(), v.get()], expect: [1, 2, 2] },
  { title: 'worker thread: a closure with a captured constant', name: 'closureInCache',
    check: (v) => v.cache.fn(2), expect: 6 },
  { title: 'worker thread: two equal factory calls are assumed shared (documented; no probe off the main thread)',
    name: 'twoCounters', check: (v) => [v.a.inc(), v.b.get()], expect: [1, 1] },
  { title: 'worker thread: an arrow using this fails with PIKALA_CAPTURE (the probe needs the main thread)', name: 'thisArrow',
    error: { code: 'PIKALA_CAPTURE', path: 'root.arrow', message: /main thread.*const self = this/s } },
  { title: 'worker thread: a closure using an enclosing named function expression\'s name fails with PIKALA_CAPTURE',
    name: 'enclosingName', error: { code: 'PIKALA_CAPTURE', path: 'root.fn', message: /'selfNamed'.*main thread/s } },
]);

// ------------------------------------------------------------------------------------------ --inspect

cases('functions/env/closures.mjs', { nodeArgs: ['--inspect=127.0.0.1:0'] }, [
  { title: '--inspect: closures sharing state', name: 'sharedCounter', check: (v) => [v.inc(), v.get()], expect: [1, 1] },
  { title: '--inspect: two equal factory calls stay independent (the probe works)', name: 'twoCounters',
    check: (v) => [v.a.inc(), v.a.inc(), v.b.get()], expect: [1, 2, 0] },
  { title: '--inspect: an arrow capturing this', name: 'thisArrow',
    check: (v) => { v.holder.tag = 'x'; return v.arrow(); }, expect: 'x' },
  { title: '--inspect: a closure using an enclosing named function expression\'s name', name: 'enclosingName',
    check: (v) => v.fn(), expect: ['selfNamed', 4] },
]);

// ------------------------------------------------------------------------------------------ permission model

cases('functions/env/closures.mjs',
  { nodeArgs: ['--experimental-permission', '--allow-fs-read=*', '--allow-fs-write=*'] }, [
    { title: 'permission model (no inspector): dumping a closure fails with PIKALA_CAPTURE naming its path',
      name: 'closureInCache', error: { code: 'PIKALA_CAPTURE', path: 'root.cache.fn', message: /inspector/ } },
    { title: 'permission model: data without functions still dumps', name: 'dataOnly',
      check: (v) => v, expect: { list: [1, 2, 3], nested: { ok: true } } },
    { title: 'permission model: built-ins still ship by reference', name: 'builtinOnly',
      check: (v) => v.max === Math.max, expect: true },
  ]);

// ------------------------------------------------------------------------------------------ notebook cells

cases('functions/env/notebook-cells.mjs', {}, [
  { title: 'notebook cells: a function uses a let of an earlier cell (Script scope), value at dump time',
    name: 'laterCellUsesEarlierCell', check: (f) => [f(), f.name], expect: [100, 'cellTotal'] },
  { title: 'notebook cells: a tslab-style cell wrapper function scope', name: 'cellWrapper',
    check: (v) => v.reveal(), expect: 42 },
]);

// ------------------------------------------------------------------------------------------ node --test

test('capture under node --test (the producer is a test file run by the test runner)', async () => {
  const { dir, cleanup } = tempDir('pikala-node-test-');
  try {
    const out = join(dir, 'payload.bin');
    await run(process.execPath, ['--test', '--test-reporter=dot', join(FIXTURES, 'functions/env/under-node-test.mjs')], {
      cwd: ROOT, timeout: 60_000, env: childEnv({ PIKALA_TEST_ENTRY: PIKALA_ESM, PIKALA_TEST_OUT: out }),
    });
    const result = await consume(readFileSync(out), (v) => [
      v.sharedCounter.inc(), v.sharedCounter.get(), v.twoCounters.a.inc(), v.twoCounters.b.get(), v.thisArrow.arrow(),
    ]);
    assert.deepEqual(result, [1, 1, 1, 0, 'h']);
  } finally {
    cleanup();
  }
});

// ------------------------------------------------------------------------------------------ the Node REPL

/** Types `lines` into a real `node -i` session; resolves with its stdout once it exits. */
function replSession(lines, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-i'], { cwd, env: childEnv({ NODE_REPL_HISTORY: '', NODE_NO_READLINE: '1' }) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`REPL timed out:\n${stdout}\n${stderr}`)); }, 60_000);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', () => { clearTimeout(timer); resolve({ stdout, stderr }); });
    child.stdin.end(lines);
  });
}

test('capture in a real Node REPL session: a REPL let, a REPL var and a top-level function', async () => {
  const { dir, cleanup } = tempDir('pikala-repl-');
  try {
    const out = join(dir, 'payload.bin');
    const input = readFileSync(join(FIXTURES, 'functions/env/repl-input.txt'), 'utf8')
      .replaceAll('__PIKALA_CJS__', JSON.stringify(PIKALA_CJS)).replaceAll('__OUT__', JSON.stringify(out));
    const { stdout, stderr } = await replSession(input, dir);
    assert.match(stdout, /REPL-DUMPED/, `the REPL session did not dump:\n${stdout}\n${stderr}`);
    const result = await consume(readFileSync(out), (v) => [
      v.shipped(1), v.shipped.name, v.replCounter.inc(), v.replCounter.inc(), v.replCounter.get(),
      v.replTwo.a.inc(), v.replTwo.b.get(), typeof globalThis.replHelper,
    ]);
    assert.deepEqual(result, [17, 'shipped', 1, 2, 2, 1, 0, 'undefined']);
  } finally {
    cleanup();
  }
});
