/**
 * Strings at the edges of the writer's and the reader's choices (src/format/byte-writer.ts, byte-reader.ts,
 * string-table.ts): each encoding's length thresholds, lone surrogates, and the string window (references at
 * its far end, past it, and the writer's skipping of lookups during runs of strings that never repeat).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumps, loads } from '../../dist/esm/index.js';
import { TAG, array, payload, str, strRef, varint } from '../security/support.mjs';

const roundTrip = (v) => loads(dumps(v));

function sameStrings(actual, expected) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`string ${i}: ${JSON.stringify(actual[i])} !== ${JSON.stringify(expected[i])}`);
  }
}

/** Strings of every length around the thresholds (16 and 17 code units read in JavaScript or by Node, 42/43
 *  written in JavaScript or by Node, 127/128 bytes of length varint) in several alphabets. */
function edgeStrings() {
  const units = {
    ascii: 'a', latin1: '\xe9', bmp: '\u4e2d', greek: '\u03bb', pair: '\ud83d\ude00', lone: '\ud800', loneLow: '\udc00',
  };
  const out = [];
  for (const n of [1, 2, 8, 15, 16, 17, 20, 21, 22, 41, 42, 43, 44, 63, 64, 65, 126, 127, 128, 129, 300]) {
    for (const [, u] of Object.entries(units)) {
      out.push(u.repeat(n).slice(0, n));
      // Mostly ASCII with one wide unit at either end (UTF-8 is then smaller than UTF-16).
      out.push('x'.repeat(n - 1) + u);
      out.push(u + 'x'.repeat(n - 1));
    }
    // A high surrogate at the very end, a low one at the very start, a pair split by the cut.
    out.push('x'.repeat(n) + '\ud83d');
    out.push('\ude00' + 'x'.repeat(n));
  }
  out.push('', '\0', '\xff', '\u0100', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\udbff\udfff');
  return out;
}

test('strings around every length threshold and in every alphabet round-trip exactly', () => {
  const strings = edgeStrings();
  sameStrings(roundTrip(strings), strings);
  // Each one alone too (no references, a fresh window).
  for (const s of strings) assert.equal(roundTrip(s), s, JSON.stringify(s));
});

test('equal strings give equal bytes, whatever their representation in the heap', () => {
  for (const s of edgeStrings()) {
    if (s.length < 2) continue;
    const cons = s.slice(0, 1) + s.slice(1);
    const flat = JSON.parse(JSON.stringify(s));
    assert.deepEqual(dumps([cons, 1]), dumps([flat, 1]), JSON.stringify(s));
  }
});

test('a short string with a code unit above 0xff travels as UTF-16 unless UTF-8 is smaller', () => {
  // Same encodings as support.mjs str(), which format.test.mjs checks byte for byte against dumps.
  for (const s of ['\u4e2d\u6587', 'a\u20ac', 'ab\u20ac', 'abc\u20ac', 'x\ud800', 'xxxx\ud800']) {
    const bytes = dumps(s);
    const expect = Uint8Array.from(str(s));
    assert.ok(Buffer.from(bytes).includes(Buffer.from(expect)), JSON.stringify(s));
    assert.equal(loads(bytes), s);
  }
});

test('repeated strings become references, so repeated text costs little', () => {
  const words = Array.from({ length: 40 }, (_, i) => `word${i}`);
  const list = Array.from({ length: 10_000 }, (_, i) => words[(i * 7) % 40]);
  const bytes = dumps(list);
  assert.ok(bytes.length < 3 * list.length, `${bytes.length} bytes for ${list.length} repeated strings`);
  sameStrings(loads(bytes), list);
});

test('references reach back through the whole window; a string outside it is written again', () => {
  // 'first', then k strings (a repeated one every 8th, so the writer keeps looking every string up), then
  // 'first' again: k + 1 strings back.
  for (const k of [4094, 4095, 4096, 5000]) {
    const list = ['first', ...Array.from({ length: k }, (_, i) => (i % 8 === 0 ? 'rep' : `u${i}`)), 'first'];
    const bytes = dumps(list);
    sameStrings(loads(bytes), list);
    const tail = [...bytes.subarray(bytes.length - 4)];
    if (k + 1 <= 4096) assert.deepEqual(tail, [TAG.StrRef, ...varint(k + 1), TAG.End], `k = ${k}`);
    else assert.deepEqual(tail, [...str('first').slice(-3), TAG.End], `k = ${k}`);
  }
});

test('runs of unique strings, then repeats, then unique strings again round-trip (the writer skips lookups)', () => {
  const list = [];
  for (let i = 0; i < 3000; i++) list.push(`unique${i}`);
  for (let i = 0; i < 3000; i++) list.push(`rep${i % 5}`, `unique-b${i}`);
  for (let i = 0; i < 100; i++) list.push(`unique${i}`, `rep${i % 5}`);
  const bytes = dumps(list);
  sameStrings(loads(bytes), list);
  // The repeats are found again once the writer looks again: far fewer bytes than every string in full.
  const full = list.reduce((n, s) => n + 2 + s.length, 0);
  assert.ok(bytes.length < full - 3000 * 3, `${bytes.length} bytes, ${full} in full`);
  // Deterministic: the skipping depends on the strings only.
  assert.deepEqual(dumps(list), bytes);
});

test('a Map of unique keys to repeated values keeps its references', () => {
  const m = new Map(Array.from({ length: 5000 }, (_, i) => [`key${i}`, ['red', 'green', 'blue'][i % 3]]));
  const back = roundTrip(m);
  assert.deepEqual([...back], [...m]);
});

test('crafted references: distance 1 up to the strings pushed so far and 4096; 0 and beyond are corrupt', () => {
  const load = (body) => loads(payload(body), { allowCode: false });
  assert.deepEqual(load(array([str('a'), str('b'), strRef(2), strRef(1), strRef(3)])), ['a', 'b', 'a', 'a', 'b']);
  const corrupt = (body) => assert.throws(() => load(body), { code: 'PIKALA_CORRUPT' });
  corrupt(array([str('a'), [TAG.StrRef, 0]]));
  corrupt(array([str('a'), strRef(2)]));
  corrupt(array([strRef(1)]));
  corrupt(array([str('a'), [TAG.StrRef, ...varint(2 ** 40)]]));
  // 4096 strings: the first is 4096 back; after one more push it is gone.
  const many = Array.from({ length: 4096 }, (_, i) => str(`s${i}`));
  assert.equal(load(array([...many, strRef(4096)]))[4096], 's0');
  corrupt(array([...many, str('one more'), strRef(4097)]));
  assert.equal(load(array([...many, str('one more'), strRef(4096)]))[4097], 's1');
  // An empty literal is corrupt (StrEmpty is the empty string), in every encoding.
  corrupt(array([[TAG.StrLatin1, 0]]));
  corrupt(array([[TAG.StrUtf8, 0]]));
  corrupt(array([[TAG.StrUtf16, 0]]));
  // The long forms stay valid for any length and distance.
  assert.deepEqual(load(array([[TAG.StrLatin1, 1, 0x61], [TAG.StrRef, 1], [TAG.StrUtf16, 1, 0x62, 0], [0xc1]])), ['a', 'a', 'b', 'a']);
  // A one-byte reference beyond what the window holds, and a one-byte string cut short.
  corrupt(array([[0xc0]]));
  corrupt(array([str('a'), [0xc1]]));
  corrupt([0x82, 0x61]);
  // Lengths beyond the payload.
  corrupt(array([[TAG.StrUtf16, 3, 0x41, 0, 0x42, 0]]));
  corrupt(array([[TAG.StrLatin1, 20, 0x41]]));
});

test('a payload\'s bytes do not depend on what was dumped before it (the writer\'s table outlives a dump)', () => {
  const x = ['alpha', 'beta', 'alpha', ...Array.from({ length: 200 }, (_, i) => `x${i}`), 'beta', 'gamma', 'alpha'];
  const y = ['gamma', 'alpha', ...Array.from({ length: 500 }, (_, i) => `y${i % 7 === 0 ? 'rep' : i}`), 'beta'];
  const first = dumps(x);
  dumps(y);
  dumps(new Map([['alpha', 'beta']]));
  assert.deepEqual(dumps(x), first);
  sameStrings(loads(first), x);
});
