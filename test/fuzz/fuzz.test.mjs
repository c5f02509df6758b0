/**
 * The budgeted fuzz run of the test suite: a fixed seed and a fixed number of cases (so a failure replays
 * exactly; see run.mjs), one worker with the hang watchdog, both modes, every strategy. Long runs: npm run fuzz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIOLATIONS } from './lib.mjs';
import { report, runFuzz } from './run.mjs';

const OPTIONS = {
  seed: 20_240_601, mode: 'both', workers: 1, cases: 40_000, seconds: 600, truncateMax: 512, truncateEvery: 4,
  quickCorpus: true, timeout: 15_000, slow: 5_000, quiet: true,
};

test('fixed-seed fuzz of loads: no foreign exception, hang, crash, pollution, code run or accessor call', { timeout: 600_000 }, async () => {
  const result = await runFuzz(OPTIONS);
  const text = report(result, OPTIONS);
  console.log(text);
  const violations = result.findings.filter((f) => VIOLATIONS.includes(f.kind));
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
