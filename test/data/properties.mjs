/**
 * The property-based round-trip checks, shared by properties.test.mjs (in its own process, natives on) and a
 * child process it starts with PIKALA_NO_NATIVES=1 (`node properties.mjs` prints a JSON report).
 */
import { NODE_ARGS } from './support.mjs';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dumps, loads } from '../../dist/esm/index.js';
import { assertIsomorphic } from '../harness/equal.mjs';
import { buildGraph, graphPlan, usesArrayAsPrototype } from '../fixtures/data/graphs.mjs';
import { hashOf } from '../fixtures/data/verify.mjs';
import { sameBytes } from './support.mjs';

void NODE_ARGS;
export const SEED = 0x5eed_2024;
export const RUNS = 250;
export const HASH_SAMPLES = 60;

/** A random graph survives dumps/loads: an isomorphic copy made of new objects. */
export const roundTrips = fc.property(graphPlan, (plan) => {
  const value = buildGraph(plan);
  assertIsomorphic(loads(dumps(value)), value, 'round trip', { fresh: true });
});

/** Equal graphs give equal bytes, and so does the loaded copy (the encoding is canonical). */
export const deterministic = fc.property(graphPlan, (plan) => {
  fc.pre(!usesArrayAsPrototype(plan));
  const value = buildGraph(plan);
  const bytes = dumps(value);
  assert.ok(sameBytes(dumps(buildGraph(plan)), bytes), 'an equal graph gave different bytes');
  assert.ok(sameBytes(dumps(loads(bytes)), bytes), 'the loaded copy gave different bytes');
});

/** SHA-256 of the payload of each of `count` sampled graphs (some skipped), to compare differently configured processes. */
export function sampleHashes(count) {
  return fc.sample(graphPlan, { seed: SEED, numRuns: count }).filter((plan) => !usesArrayAsPrototype(plan))
    .map((plan) => hashOf(dumps(buildGraph(plan))));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const report = {};
  for (const [name, property] of Object.entries({ roundTrips, deterministic })) {
    const r = fc.check(property, { seed: SEED, numRuns: RUNS });
    report[name] = r.failed ? fc.defaultReportMessage(r) : null;
  }
  report.hashes = sampleHashes(HASH_SAMPLES);
  console.log(JSON.stringify(report));
}
