/**
 * loads(bytes, { zeroCopy: true }): views over the payload's own memory, as v8.deserialize makes them, only
 * where nothing can tell (the buffer is reached through views alone), and copies everywhere else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { dumps, loads, PikalaError } from '../../dist/esm/index.js';
import { produce } from '../harness/roundtrip.mjs';
import { assertIsomorphic } from '../harness/equal.mjs';
import { views as expected } from '../fixtures/data/binary.mjs';

test('a payload from another process: views share its memory, buffers that are values are copies', async () => {
  const bytes = await produce('data/binary.mjs', 'views');
  const copied = loads(bytes);
  const mapped = loads(bytes, { zeroCopy: true });
  assertIsomorphic(copied, expected);
  // Mapped views of different buffers all sit on the input's one buffer (documented): compare contents.
  const contents = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  for (const k of Object.keys(expected)) {
    if (k === 'own') continue;
    assert.equal(Object.getPrototypeOf(mapped[k]), Object.getPrototypeOf(expected[k]), k);
    assert.equal(contents(mapped[k]), contents(expected[k]), k);
  }
  for (const k of ['f64', 'bytes', 'view', 'buf', 'big']) {
    assert.equal(mapped[k].buffer, bytes.buffer, `${k} is a view over the input`);
    assert.notEqual(copied[k].buffer, bytes.buffer, `${k} is a copy without zeroCopy`);
  }
  assert.ok(Buffer.isBuffer(mapped.buf));
  assert.equal(mapped.f64.buffer, mapped.view.buffer, 'views of one buffer stay on one buffer');
  assert.equal(mapped.view.byteOffset - mapped.bytes.byteOffset, 40, 'relative offsets are kept');
  // The buffer that is a value is the producer's 16 bytes, not the payload.
  assert.notEqual(mapped.own, bytes.buffer);
  assert.equal(mapped.own.byteLength, 16);
  assert.equal(mapped.ownView.buffer, mapped.own);
  // Aliasing is the documented price: a write to the input shows through.
  const at = mapped.big.byteOffset - bytes.byteOffset;
  new Float64Array(bytes.buffer, bytes.byteOffset + at, 1)[0] = 42;
  assert.equal(mapped.big[0], 42);
  assert.equal(copied.big[0], 0);
});

test('misaligned input memory, shared memory and resizable buffers fall back to copies', () => {
  const value = new Float64Array([1, 2, 3]);
  const payload = dumps(value);
  // The same payload at an odd offset of a larger buffer: the float64s are no longer 8-byte aligned.
  const odd = new Uint8Array(payload.length + 1).subarray(1);
  odd.set(payload);
  const fromOdd = loads(odd, { zeroCopy: true });
  assertIsomorphic(fromOdd, value);
  assert.notEqual(fromOdd.buffer, odd.buffer);
  const sab = new Uint8Array(new SharedArrayBuffer(payload.length));
  sab.set(payload);
  const fromShared = loads(sab, { zeroCopy: true });
  assertIsomorphic(fromShared, value);
  assert.ok(fromShared.buffer instanceof ArrayBuffer, 'never a view over shared memory');
  const resizable = new Uint8Array(new ArrayBuffer(16, { maxByteLength: 64 }), 0, 8);
  const loaded = loads(dumps(resizable), { zeroCopy: true });
  assert.ok(loaded.buffer.resizable);
  assert.equal(loaded.buffer.maxByteLength, 64);
});

test('a buffer with a prototype, own properties, or one that is also a prototype is copied', () => {
  const withProp = new ArrayBuffer(8);
  withProp.tag = 'mine';
  const proto = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
  const value = { a: new Uint8Array(withProp), b: [Object.create(proto), new Uint8Array(proto, 4, 2)] };
  const payload = dumps(value);
  const loaded = loads(payload, { zeroCopy: true });
  assertIsomorphic(loaded, value);
  assert.equal(loaded.a.buffer.tag, 'mine');
  assert.notEqual(loaded.a.buffer, payload.buffer);
  assert.equal(Object.getPrototypeOf(loaded.b[0]).byteLength, 9, 'the prototype buffer ships whole');
  assert.equal(loaded.b[1].buffer, Object.getPrototypeOf(loaded.b[0]));
});

test('signed payloads load with zeroCopy', () => {
  const value = new Float64Array([5, 6]);
  const payload = dumps(value, { key: 'k' });
  const loaded = loads(payload, { key: 'k', zeroCopy: true });
  assertIsomorphic(loaded, value);
  assert.equal(loaded.buffer, payload.buffer);
});

test('a payload whose mapped bytes are not where the buffer record says is corrupt under zeroCopy', () => {
  const value = new Float64Array([1, 2, 3, 4]);
  const payload = Buffer.from(dumps(value));
  // The bytes end the payload, before its End tag; the buffer record's `at` field holds their offset.
  const dataAt = payload.length - 1 - 32;
  let field = -1;
  for (let i = 0; i + 6 <= dataAt && field < 0; i++) if (payload.readUIntLE(i, 6) === dataAt) field = i;
  assert.ok(field > 0, 'the at field was found');
  payload.writeUIntLE(dataAt - 8, field, 6);
  assert.throws(() => loads(payload, { zeroCopy: true }), (e) => e instanceof PikalaError && e.code === 'PIKALA_CORRUPT');
  // A reader that copies never looks at the field.
  assertIsomorphic(loads(payload), value);
});

test('format 2.0: a newer minor is refused with PIKALA_VERSION, and so is format 1', () => {
  const value = { ab: new Uint8Array([1, 2, 3]).buffer, n: 5 };
  const payload = Buffer.from(dumps(value));
  assert.deepEqual([payload[4], payload[5]], [2, 0]);
  assertIsomorphic(loads(payload), value);
  payload[5] = 1;
  assert.throws(() => loads(payload), (e) => e instanceof PikalaError && e.code === 'PIKALA_VERSION' &&
    /format 2\.1 \(written by pikala\//.test(e.message) && /reads format 2\.0 to 2\.0/.test(e.message));
  payload[4] = 1;
  payload[5] = 0;
  assert.throws(() => loads(payload), (e) => e instanceof PikalaError && e.code === 'PIKALA_VERSION' &&
    /format 1\.0/.test(e.message) && /reads format 2\.x/.test(e.message));
});
