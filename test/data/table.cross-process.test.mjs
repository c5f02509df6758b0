/**
 * The fixture table across processes — the truth for a serializer. One producer process dumps every batchable
 * entry into one payload; one fresh consumer process (in an empty temporary folder) loads it, rebuilds each
 * expected value from the table and compares them (verify.mjs). Huge entries get a payload each.
 * Determinism: the batch dumped by other producer processes (again, and through the CommonJS build) must be
 * the same bytes; and the consumer runs without the V8 natives fast path (PIKALA_NO_NATIVES=1) and dumps every
 * expected value, whose bytes must equal what this process (natives on) writes for it.
 */
import { NODE_ARGS, sameBytes } from './support.mjs';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIXTURES, consume, produce } from '../harness/roundtrip.mjs';
import { dumps } from '../../dist/esm/index.js';
import { table } from '../fixtures/data/table.mjs';
import { hashOf } from '../fixtures/data/verify.mjs';

const VERIFY = pathToFileURL(join(FIXTURES, 'data/verify.mjs')).href;
const SELECT = 'data/select.mjs';
const batch = table.filter((e) => !e.big && !e.todo);
const batchNames = batch.map((e) => e.name);

function produceBatch(extra = {}) {
  return produce(SELECT, 'selected', {
    nodeArgs: NODE_ARGS, ...extra, env: { PIKALA_TABLE_SELECT: JSON.stringify(batchNames), ...extra.env },
  });
}

function produceOne(name) {
  return produce(SELECT, 'selected', { nodeArgs: NODE_ARGS, env: { PIKALA_TABLE_ONE: name } });
}

/** The consumer's check, as source text: it must not close over anything, so the names are inlined. */
const batchCheck = `async (values, { pikala }) => (await import(${JSON.stringify(VERIFY)})).verifyBatch(values, ${JSON.stringify(batchNames)}, pikala)`;
const oneCheck = (name) => `async (value) => { const m = await import(${JSON.stringify(VERIFY)}); return m.verify(m.byName.get(${JSON.stringify(name)}), value); }`;

describe('one batch payload, one fresh consumer', () => {
  let payload;
  let results;
  before(async () => {
    payload = await produceBatch();
    results = await consume(payload, batchCheck, { nodeArgs: NODE_ARGS, env: { PIKALA_NO_NATIVES: '1' } });
  });

  test('every batched entry came back', () => {
    assert.deepEqual(results.map((r) => r.name), batchNames);
  });

  for (const [i, entry] of batch.entries()) {
    describe(entry.name, () => {
      test('loads in a fresh process', () => {
        assert.equal(results[i].error, null);
      });
      test('same bytes without the V8 natives fast path', { todo: entry.todoNoNatives }, () => {
        assert.equal(results[i].hash, hashOf(dumps(entry.make())));
      });
    });
  }

  describe('deterministic across processes', { concurrency: 2 }, () => {
    test('another producer process writes the same bytes', async () => {
      assert.ok(sameBytes(await produceBatch(), payload));
    });
    test('the CommonJS build writes the same bytes', async () => {
      assert.ok(sameBytes(await produceBatch({ pikala: 'cjs' }), payload));
    });
  });
});

// Two at a time: each test mostly waits for its producer and consumer processes.
describe('huge values, one payload each', { concurrency: 2 }, () => {
  for (const entry of table.filter((e) => e.big)) {
    test(entry.name, { todo: entry.todo }, async () => {
      const payload = await produceOne(entry.name);
      if (entry.maxPayload !== undefined) assert.ok(payload.length <= entry.maxPayload, `payload of ${payload.length} bytes`);
      assert.equal(await consume(payload, oneCheck(entry.name), { nodeArgs: NODE_ARGS, timeout: 120_000 }), null);
    });
  }
  test('a huge payload is the same bytes in two producer processes', async () => {
    const name = 'linked list 1,000,000 deep';
    const [a, b] = await Promise.all([produceOne(name), produceOne(name)]);
    assert.ok(sameBytes(a, b));
  });
});

describe('known failures, one payload each', { concurrency: 2 }, () => {
  for (const entry of table.filter((e) => e.todo && !e.big)) {
    test(entry.name, { todo: entry.todo }, async () => {
      assert.equal(await consume(await produceOne(entry.name), oneCheck(entry.name), { nodeArgs: NODE_ARGS }), null);
    });
  }
});
