/**
 * The hand-crafting helpers of support.mjs against real dumps output. When the wire format changes, this test
 * fails first: update support.mjs (and the crafted payloads of the other security suites) with it.
 */
import { TAG, KIND, array, bodyOf, builtin, int, plainFill, record, shapeNew, shapeUse, str, u48 } from './support.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumps, loads } from '../../dist/esm/index.js';

const cases = [
  ['small integer', 1, [1]],
  ['negative integer', -5, int(-5)],
  ['latin1 string', 'abc', [TAG.StrLatin1Short + 2, 97, 98, 99]],
  ['latin1 string of 64 bytes', 'y'.repeat(64), [0xbf, ...Buffer.from('y'.repeat(64))]],
  ['latin1 string of 65 bytes', 'y'.repeat(65), [TAG.StrLatin1, 65, ...Buffer.from('y'.repeat(65))]],
  ['latin1 string of 128 bytes', 'y'.repeat(128), [TAG.StrLatin1, 0x80, 1, ...Buffer.from('y'.repeat(128))]],
  // 'q' repeats often enough that the writer keeps looking every string up.
  ['string reference 64 back (one byte)', ['r', 'q', ...Array.from({ length: 31 }, (_, i) => [`s${i}`, 'q']).flat(), 'r'],
    array([str('r'), str('q'), ...Array.from({ length: 31 }, (_, i) => [str(`s${i}`), [0xc1]]).flat(1), [0xff]])],
  ['string reference 65 back', ['r', 'q', ...Array.from({ length: 31 }, (_, i) => [`s${i}`, 'q']).flat(), 'z', 'r'],
    array([str('r'), str('q'), ...Array.from({ length: 31 }, (_, i) => [str(`s${i}`), [0xc1]]).flat(1), str('z'), [TAG.StrRef, 65]])],
  ['short string, UTF-8 smaller', 'abc\u20ac', [TAG.StrUtf8, 6, 97, 98, 99, 0xe2, 0x82, 0xac]],
  ['short string, UTF-8 as large as UTF-16', 'a\u20ac', [TAG.StrUtf16, 2, 97, 0, 0xac, 0x20]],
  ['short CJK string', '\u4e2d\u6587', [TAG.StrUtf16, 2, 0x2d, 0x4e, 0x87, 0x65]],
  ['short string with a lone surrogate and mostly ASCII', 'abc\ud800', [TAG.StrUtf16, 4, 97, 0, 98, 0, 99, 0, 0, 0xd8]],
  ['42 code units, UTF-16', '\u4e2d'.repeat(42), str('\u4e2d'.repeat(42))],
  ['43 code units, UTF-8', '\u4e2d'.repeat(43), [TAG.StrUtf8, 129, 1, ...Buffer.from('\u4e2d'.repeat(43))]],
  ['plain array', [1, 2], array([[1], [2]])],
  ['plain record', { a: 1 }, shapeNew(['a'], [[1]])],
  ['shape used twice', [{ a: 1 }, { a: 2 }], array([shapeNew(['a'], [[1]]), shapeUse(1, [[2]])])],
  ['Map', new Map([[1, 2]]), record(KIND.Map, [], [0, 1, 0, 1, 2])],
  ['built-in prototype', { p: Object.prototype }, shapeNew(['p'], [builtin('Object.prototype')])],
  ['URL', new URL('http://a/'), record(KIND.URL, str('http://a/'), plainFill())],
  ['non-enumerable property', Object.defineProperty({}, 'k', { value: 1, writable: true, enumerable: false, configurable: true }),
    record(KIND.Ordinary, [], plainFill([[str('k'), [1], 5]]))],
];

for (const [name, value, body] of cases) {
  test(`crafted bytes match dumps: ${name}`, () => {
    assert.deepEqual(bodyOf(dumps(value)), body);
  });
}

test('crafted bytes match dumps: a whole ArrayBuffer record', () => {
  const body = bodyOf(dumps(new ArrayBuffer(3)));
  assert.deepEqual(body.slice(0, 13), record(KIND.ArrayBuffer, [0, ...u48(3)], plainFill()));
  assert.equal(body[13], TAG.Bytes);
});

test('crafted payloads load', async () => {
  const { payload } = await import('./support.mjs');
  assert.deepEqual(loads(payload(shapeNew(['a', 'b'], [[1], str('x')]))), { a: 1, b: 'x' });
});

test('crafted bytes match dumps: a repeated string is a reference to how many strings back it was', async () => {
  const { strRef } = await import('./support.mjs');
  assert.deepEqual(bodyOf(dumps(['tag12', 'tag22', 'tag12'])), array([str('tag12'), str('tag22'), strRef(2)]));
});

test('a buffer whose Bytes record is missing is refused (its memory is never handed out unwritten)', async () => {
  const { payload } = await import('./support.mjs');
  // Long enough for its 64 bytes (so the size check passes), but no Bytes record follows the root.
  const bytes = payload(array([record(KIND.ArrayBuffer, [0, ...u48(64)], plainFill()), str('x'.repeat(100))]));
  assert.throws(() => loads(bytes, { allowCode: false }), { code: 'PIKALA_CORRUPT', message: /bytes are missing/ });
});
