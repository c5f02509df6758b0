// The function payload ships once per worker and is cached by content hash: mapping over 100,000 items
// serializes the function once on the main thread and compiles nothing more on the workers
// (issue: local compute, bullet 2). Worker counts come from compiledUnitCount() of dist/*/code/rebuild.js,
// reported by each worker through pool.stats().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from '../../dist/esm/index.js';
import { transform } from '../fixtures/pool/work.mjs';

const sum = (stats, key) => stats.workers.reduce((n, w) => n + w[key], 0);

test('100,000 items: one dumps of the function, one load per worker, no compilation after the first', async () => {
  const pool = new Pool({ size: 2 });
  try {
    // Warm both workers with the function: every code unit it needs is compiled now.
    await pool.map(transform, [1, 2, 3, 4], { chunkSize: 1 });
    const warm = await pool.stats();
    assert.equal(warm.functionsSerialized, 1);
    const items = Array.from({ length: 100_000 }, (_, i) => i % 150);
    const out = await pool.map(transform, items);
    assert.equal(out.length, 100_000);
    assert.deepEqual(out[99_999], transform(99_999 % 150));
    for (let i = 0; i < 20; i++) await pool.run(transform, i);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => pool.run(transform, i)));
    const stats = await pool.stats();
    assert.equal(stats.functionsSerialized, 1, 'the main thread serialized the function once');
    assert.equal(stats.workers.length, 2);
    for (const w of stats.workers) {
      assert.ok(w.functionsLoaded <= 1, `worker ${w.threadId} loaded the function ${w.functionsLoaded} times`);
      const before = warm.workers.find((x) => x.threadId === w.threadId);
      assert.equal(w.compiledUnits, before.compiledUnits, `worker ${w.threadId} compiled nothing more`);
    }
    assert.ok(sum(stats, 'tasks') > sum(warm, 'tasks'));
    // The function's bytes crossed once per worker: far less than one copy per task.
    assert.ok(stats.bytesSent < 2 * 10_000, `bytes sent: ${stats.bytesSent}`);
  } finally {
    await pool.close();
  }
});

test('another closure with the same content reuses the workers\' copy (same hash); a changed one does not', async () => {
  const pool = new Pool({ size: 1 });
  try {
    const times = (k) => (x) => x * k;
    assert.equal(await pool.run(times(2), 21), 42);
    assert.equal(await pool.run(times(2), 5), 10);
    let stats = await pool.stats();
    assert.equal(stats.functionsSerialized, 2, 'two closures, two dumps');
    assert.equal(stats.workers[0].functionsLoaded, 1, 'identical bytes: loaded once');
    assert.equal(await pool.run(times(3), 5), 15);
    stats = await pool.stats();
    assert.equal(stats.workers[0].functionsLoaded, 2);
  } finally {
    await pool.close();
  }
});

test('a worker forgets functions beyond its cache size, and gets them again when needed', async () => {
  const pool = new Pool({ size: 1 });
  try {
    const fns = Array.from({ length: 300 }, (_, k) => { const add = k; return (x) => x + add; });
    const out = [];
    for (const f of fns) out.push(await pool.run(f, 1));
    assert.deepEqual(out, fns.map((_, k) => k + 1));
    assert.ok((await pool.stats()).workers[0].functionsCached <= 128);
    // One batch may need more functions than the cache holds; the next message trims it again.
    const again = await Promise.all(fns.map((f) => pool.run(f, 2)));
    assert.deepEqual(again, fns.map((_, k) => k + 2));
    assert.equal(await pool.run(fns[0], 3), 3);
    const stats = await pool.stats();
    assert.ok(stats.workers[0].functionsCached <= 128, `cached ${stats.workers[0].functionsCached}`);
  } finally {
    await pool.close();
  }
});
