/**
 * Binary data details the fixture table cannot express: Node's real Buffer pool (its state differs between
 * processes), what a payload must not contain, and regressions of the binary codec.
 */
import { sameBytes } from './support.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { dumps, loads } from '../../dist/esm/index.js';
import { assertIsomorphic } from '../harness/equal.mjs';

const has = (bytes, text) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes(text);

/**
 * Short Buffers from Node's pool, each allocated right after the previous one, all on one pool buffer (when
 * the pool runs out midway, Node starts a new one: try again).
 */
function pooled(...texts) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const out = texts.map((t) => Buffer.from(t));
    if (out.every((b) => b.buffer === out[0].buffer && b.buffer.byteLength >= 4096)) return out;
  }
  throw new Error('Buffer.from of short strings is not pooled here; the pool tests prove nothing');
}

test('a small pooled Buffer ships without the rest of its pool', () => {
  const [, b] = pooled('SECRET-BEFORE', 'hello', 'SECRET-AFTER');
  const bytes = dumps({ b });
  assert.ok(bytes.length < 200, `payload of ${bytes.length} bytes for a 5-byte Buffer`);
  assert.ok(!has(bytes, 'SECRET'), 'the payload carries other bytes of the pool');
  const loaded = loads(bytes).b;
  assert.ok(Buffer.isBuffer(loaded));
  assert.equal(loaded.toString(), 'hello');
  assert.ok(loaded.buffer.byteLength < 64, `the loaded Buffer sits on a ${loaded.buffer.byteLength}-byte buffer`);
});

test('two pooled Buffers with other data between them: the gap is not shipped', () => {
  const [a, , c] = pooled('first', 'SECRET-BETWEEN-THEM', 'second');
  const bytes = dumps([a, c]);
  assert.ok(!has(bytes, 'SECRET'), 'the payload carries the pool bytes between the two Buffers');
  assert.ok(bytes.length < 300, `payload of ${bytes.length} bytes`);
  const [la, lc] = loads(bytes);
  assert.equal(la.toString() + lc.toString(), 'firstsecond');
  assert.equal(la.buffer, lc.buffer, 'views of one buffer stay on one buffer');
  assert.equal(lc.byteOffset - la.byteOffset, c.byteOffset - a.byteOffset, 'relative offsets are kept');
  const gap = new Uint8Array(la.buffer, la.byteOffset + la.length, lc.byteOffset - la.byteOffset - la.length);
  assert.ok(gap.every((x) => x === 0), 'the bytes no view covers are blank');
});

test('equal Buffers at different places in the pool give the same bytes', () => {
  const [x, , y] = pooled('same', 'padding-padding', 'same');
  assert.notEqual(x.byteOffset, y.byteOffset);
  assert.ok(sameBytes(dumps(x), dumps(y)));
  assert.ok(sameBytes(dumps({ v: x }), dumps({ v: Buffer.from('same') })));
});

test('a view deep inside a large buffer ships only its bytes', () => {
  const big = new Uint8Array(8 << 20).fill(0x41);
  const view = new Uint16Array(big.buffer, 5 << 20, 8).fill(7);
  const bytes = dumps(view);
  assert.ok(bytes.length < 200, `payload of ${bytes.length} bytes`);
  assertIsomorphic(loads(bytes), view);
});

test('empty views at non-zero offsets', () => {
  const ab = new ArrayBuffer(16);
  const value = [new Uint8Array(ab, 8, 0), new DataView(ab, 5, 0), new Float64Array(ab, 16, 0)];
  assertIsomorphic(loads(dumps(value)), value);
  const alone = new Uint32Array(new ArrayBuffer(64), 12, 0);
  assertIsomorphic(loads(dumps(alone)), alone);
});

test('views keep their element alignment when only part of the buffer ships', () => {
  const ab = new ArrayBuffer(64);
  new Uint8Array(ab).forEach((_, i, a) => { a[i] = i; });
  const value = [new Uint8Array(ab, 13, 2), new Float64Array(ab, 24, 1), new BigInt64Array(ab, 40, 2), new Int16Array(ab, 18, 1)];
  const loaded = loads(dumps(value));
  assertIsomorphic(loaded, value);
  assert.equal(loaded[1].byteOffset % 8, 0);
});

test('an ArrayBuffer used only as a prototype ships whole', () => {
  const ab = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
  const value = Object.create(ab);
  const loaded = loads(dumps(value));
  assertIsomorphic(loaded, value);
  assert.equal(Object.getPrototypeOf(loaded).byteLength, 9);
});

test('an ArrayBuffer used as a prototype and by a view ships whole', () => {
  const ab = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
  const value = [Object.create(ab), new Uint8Array(ab, 4, 2)];
  assertIsomorphic(loads(dumps(value)), value);
});

test('the ArrayBuffer itself in the graph after many views ships whole, views at their offsets', () => {
  const ab = new ArrayBuffer(4096);
  new Uint8Array(ab).fill(3);
  const views = Array.from({ length: 50 }, (_, i) => new Uint8Array(ab, i * 64 + 7, 3));
  const value = [...views, ab];
  const loaded = loads(dumps(value));
  assertIsomorphic(loaded, value);
  assert.equal(loaded[0].byteOffset, 7);
  assert.equal(loaded[50].byteLength, 4096);
});

test('a Buffer and a Uint8Array over the same pooled memory', () => {
  const [b] = pooled('shared memory');
  const u = new Uint8Array(b.buffer, b.byteOffset + 7, 6);
  const [lb, lu] = loads(dumps([b, u]));
  assert.ok(Buffer.isBuffer(lb) && !Buffer.isBuffer(lu));
  lu[0] = 'M'.charCodeAt(0);
  assert.equal(lb.toString(), 'shared Memory');
});
