/**
 * The budgeted fuzz run of the test suite: a fixed seed and a fixed number of cases (so a failure replays
 * exactly; see run.mjs), one worker with the hang watchdog, both modes, every strategy. Long runs: npm run fuzz.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_BUGS, VIOLATIONS, knownBug, violationsOf } from './lib.mjs';
import { report, runFuzz } from './run.mjs';

const OPTIONS = {
  seed: 20_240_601, mode: 'both', workers: 1, cases: 40_000, seconds: 600, truncateMax: 512, truncateEvery: 4,
  quickCorpus: true, timeout: 15_000, slow: 5_000, quiet: true,
};

let result;
let text;
before(async () => {
  result = await runFuzz(OPTIONS);
  text = report(result, OPTIONS);
  console.log(text);
}, { timeout: 600_000 });

test('fixed-seed fuzz of loads: no foreign exception, hang, crash, pollution, code run or accessor call', () => {
  const violations = violationsOf(result.findings);
  assert.deepEqual(violations.map((f) => `${f.kind} at case ${f.index}: ${f.detail}`), [], text);
  assert.ok(result.cases >= OPTIONS.cases, `only ${result.cases} of ${OPTIONS.cases} cases ran`);
  // The run exercised what it should: successes, corrupt payloads, refusals and signature failures in both modes.
  const all = (mode, key) => Object.values(result.counts[mode] ?? {}).reduce((s, c) => s + (c[key] ?? 0), 0);
  for (const mode of ['data-only', 'code']) {
    assert.ok(all(mode, 'ok') > 100, `${mode}: too few successful loads`);
    assert.ok(all(mode, 'PIKALA_CORRUPT') > 1000, `${mode}: too few corrupt payloads`);
    assert.ok(all(mode, 'code:PIKALA_SIGNATURE') > 100, `${mode}: too few signature failures`);
  }
  assert.ok(all('data-only', 'code:PIKALA_CODE_REFUSED') > 100, 'data-only: too few refusals');
});

for (const bug of KNOWN_BUGS) {
  test(`fixed-seed fuzz of loads: no finding of a known bug: ${bug.name}`, {
    todo: 'reported bug; see the todo tests of test/security/ and lib.mjs KNOWN_BUGS',
  }, () => {
    const hits = result.findings.filter((f) => VIOLATIONS.includes(f.kind) && knownBug(f) === bug.name);
    assert.deepEqual(hits.map((f) => `${f.kind} at case ${f.index}: ${f.detail}`), []);
  });
}
