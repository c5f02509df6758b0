/**
 * The in-process table suite, shared by table.in-process.test.mjs (everything that fits in a batch) and
 * big.in-process.test.mjs (the huge values), so node --test can run the two files side by side.
 */
import { NODE_ARGS, sameBytes } from './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dumps, loads } from '../../dist/esm/index.js';
import { isomorphismError } from '../harness/equal.mjs';
import { verify } from '../fixtures/data/verify.mjs';

void NODE_ARGS;

export function inProcessSuite(entries) {
  for (const entry of entries) {
    describe(entry.name, () => {
      test('round trip', { todo: entry.todo }, () => {
        const original = entry.make();
        const bytes = dumps(original);
        assert.ok(bytes instanceof Uint8Array);
        if (entry.maxPayload !== undefined) {
          assert.ok(bytes.length <= entry.maxPayload, `payload of ${bytes.length} bytes, at most ${entry.maxPayload} expected`);
        }
        const loaded = loads(bytes);
        assert.equal(verify(entry, loaded, original, { fresh: true }), null);
        if (!entry.big) assert.equal(isomorphismError(original, entry.make()), null, 'dumps changed the value it read');
      });

      test('deterministic', { todo: entry.todoDeterministic }, () => {
        const original = entry.make();
        const bytes = dumps(original);
        assert.ok(sameBytes(dumps(original), bytes), 'dumping one value twice gave different bytes');
        if (entry.big) return;
        assert.ok(sameBytes(dumps(entry.make()), bytes), 'dumping an equal value gave different bytes');
        // Canonical: a loaded value is equal to its original, so it must dump to the same bytes too.
        assert.ok(sameBytes(dumps(loads(bytes)), bytes), 'dumping the loaded value gave different bytes');
      });
    });
  }
}
