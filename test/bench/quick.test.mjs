/**
 * Smoke test of the benchmark suite (bench/run.mjs --quick): it runs, verifies every round trip, prints the
 * tables and writes its JSON. No speed assertions: the figures of a 1-process, 1-round run on small payloads
 * mean nothing. Installs nothing: with bench/node_modules absent it measures pikala, JSON and v8 only; with it
 * present, the full peer set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const RUNNER = join(ROOT, 'bench/run.mjs');
const PEERS = existsSync(join(ROOT, 'bench/node_modules'));

test('bench --quick runs every payload and reports every library', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pikala-bench-test-'));
  try {
    const out = join(dir, 'quick.json');
    const { stdout } = await run(process.execPath, [RUNNER, '--quick', '--out', out], { cwd: ROOT, timeout: 170_000, maxBuffer: 16 << 20 });
    assert.match(stdout, /### Results/);
    assert.match(stdout, /### Targets/);
    assert.match(stdout, /\| verdict \|/);
    const summary = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(Object.keys(summary.payloads), ['a', 'b', 'c', 'd', 'e', 'f1', 'f2', 'f3']);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const libs = summary.payloads[id].libs;
      assert.equal(libs.pikala.status, 'ok', `pikala on (${id}): ${libs.pikala.message}`);
      assert.equal(libs.pikala.lossless, true, `pikala round trip on (${id}): ${libs.pikala.lossNote}`);
      assert.ok(libs.pikala.encMs > 0 && libs.pikala.decMs > 0 && libs.pikala.size > 0);
      assert.equal(libs.v8.status, 'ok');
      if (id !== 'c') assert.equal(libs.JSON.status, 'ok');
      for (const peer of ['msgpackr-SC', 'cbor-x-SC', 'seroval', 'devalue']) {
        assert.equal(libs[peer].status, PEERS ? 'ok' : 'missing', `${peer} on (${id}): ${libs[peer].message}`);
      }
    }
    for (const id of ['f1', 'f2', 'f3']) {
      const p = summary.payloads[id].libs.pikala;
      // Functions by value land separately: until then the row must say why it is n/a, not break the run.
      if (p.status === 'ok') assert.equal(p.lossless, true, `pikala on (${id}): ${p.lossNote}`);
      else assert.match(p.message, /^(dumps|loads) failed: /);
      assert.equal(summary.payloads[id].libs.pulumi.status, PEERS ? 'ok' : 'missing');
      if (p.status !== 'ok') assert.match(stdout, new RegExp(`\\| ${id} \\| \\*\\*pikala\\*\\* \\| n/a \\((dumps|loads) failed: `));
    }
    assert.ok(summary.targets.length >= 8);
    for (const t of summary.targets) assert.match(t.verdict, /^(met|not met|n\/a)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench reports peers as missing (not as errors) when they are not installed', async () => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `
    const { loadLibs } = await import(${JSON.stringify(join(ROOT, 'bench/lib/libs.mjs'))});
    const libs = await loadLibs(['pikala', 'v8', 'msgpackr', 'pulumi']);
    console.log(JSON.stringify([...libs.values()].map((l) => [l.name, Boolean(l.missing)])));
  `], { cwd: ROOT, env: { ...process.env, PIKALA_BENCH_NO_PEERS: '1' } });
  assert.deepEqual(JSON.parse(stdout), [['pikala', false], ['v8', false], ['msgpackr', true], ['pulumi', true]]);
});

test('bench equality check catches lost sharing, cycles and types', async () => {
  const { deepEqual } = await import(join(ROOT, 'bench/lib/equal.mjs'));
  const shared = { k: 1 };
  assert.equal(deepEqual({ a: shared, b: shared }, { a: { k: 1 }, b: { k: 1 } }).diff, '$.b: shared reference not preserved');
  assert.equal(deepEqual({ a: { k: 1 }, b: { k: 1 } }, { a: shared, b: shared }).diff, '$.b: two distinct objects became one');
  const cyc = { n: 1 };
  cyc.self = cyc;
  const cyc2 = { n: 1 };
  cyc2.self = cyc2;
  assert.equal(deepEqual(cyc, cyc2).diff, null);
  assert.match(deepEqual(new Float64Array([1]), new Uint8Array([1])).diff, /Float64Array/);
  assert.match(deepEqual([0], [-0]).diff, /-0/);
  assert.equal(deepEqual(new Map([['x', [1]]]), new Map([['x', [1]]])).diff, null);
  assert.deepEqual(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), { diff: null, note: 'key order differs at $' });
});
