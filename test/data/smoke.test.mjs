import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundTrip } from '../harness/roundtrip.mjs';

test('a value graph crosses processes', async () => {
  const out = await roundTrip('data/smoke.mjs', 'default', (v) => ({
    same: v.shared === v.again, list: v.list, time: v.when.getTime(), isDate: v.when instanceof Date,
  }));
  assert.deepEqual(out, { same: true, list: [1, 2, 3], time: 0, isDate: true });
});
