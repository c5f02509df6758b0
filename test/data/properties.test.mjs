/**
 * Property-based round trips with fast-check: random graphs (see test/fixtures/data/graphs.mjs) of records,
 * arrays with holes, Maps/Sets with object keys, typed arrays on shared buffers, errors, boxed values, symbols,
 * bigints, strings with lone surrogates, random descriptors and integrity levels, random sharing and cycles.
 * Fixed seed, modest run counts: the same cases every time, a few seconds in all.
 */
import { NODE_ARGS } from './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify, types } from 'node:util';
import fc from 'fast-check';
import { isomorphismError } from '../harness/equal.mjs';
import { buildGraph, graphPlan } from '../fixtures/data/graphs.mjs';
import { HASH_SAMPLES, RUNS, SEED, deterministic, roundTrips, sampleHashes } from './properties.mjs';

const run = promisify(execFile);

describe('random graphs', () => {
  test('round-trip to an isomorphic copy of new objects', () => {
    fc.assert(roundTrips, { seed: SEED, numRuns: RUNS });
  });

  test('give the same bytes when equal, and when loaded and dumped again', () => {
    fc.assert(deterministic, { seed: SEED, numRuns: RUNS });
  });

  test('without the V8 natives fast path: same results and the same bytes', async () => {
    const child = fileURLToPath(new URL('./properties.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [...NODE_ARGS, child], {
      env: { ...process.env, PIKALA_NO_NATIVES: '1' }, timeout: 120_000, maxBuffer: 1 << 24,
    });
    const report = JSON.parse(stdout);
    assert.equal(report.roundTrips, null);
    assert.equal(report.deterministic, null);
    assert.deepEqual(report.hashes, sampleHashes(HASH_SAMPLES));
  });
});

describe('the equality helper on random graphs', () => {
  test('two builds of one plan are isomorphic', () => {
    fc.assert(fc.property(graphPlan, (plan) => isomorphismError(buildGraph(plan), buildGraph(plan)) === null), { seed: SEED, numRuns: 200 });
  });

  test('a small change anywhere is caught', () => {
    // Adds a property to one extensible object reachable from the root, or changes one Map/Set/array.
    const change = fc.tuple(graphPlan, fc.nat(), fc.constantFrom('add', 'delete', 'identity'));
    fc.assert(fc.property(change, ([plan, pick, how]) => {
      const expected = buildGraph(plan);
      const actual = buildGraph(plan);
      const objects = reachable(actual).filter((o) => Object.isExtensible(o) && !ArrayBuffer.isView(o));
      fc.pre(objects.length > 0);
      const target = objects[pick % objects.length];
      if (how === 'add') target.__changed = 1;
      else if (how === 'delete') { const k = Reflect.ownKeys(target).find((key) => Object.getOwnPropertyDescriptor(target, key).configurable); fc.pre(k !== undefined); delete target[k]; }
      else target.__changed = { ...target };
      return isomorphismError(actual, expected) !== null;
    }), { seed: SEED, numRuns: 200 });
  });
});

/** Every object reachable from `root` through own data properties, Map entries and Set values. */
function reachable(root) {
  const seen = new Set();
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if ('value' in d) stack.push(d.value);
    }
    if (types.isMap(v)) for (const [k, x] of Map.prototype.entries.call(v)) stack.push(k, x);
    if (types.isSet(v)) for (const x of Set.prototype.values.call(v)) stack.push(x);
    // Custom prototypes are part of the graph; built-in ones (Set.prototype...) must not be changed.
    const proto = Object.getPrototypeOf(v);
    const ctor = proto === null ? undefined : Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
    const builtin = typeof ctor === 'function' && /\[native code\]/.test(Function.prototype.toString.call(ctor));
    if (proto !== null && !builtin) stack.push(proto);
  }
  return [...seen];
}
