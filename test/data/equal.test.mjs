/**
 * The equality helper (test/harness/equal.mjs) is what every round-trip test trusts, so it is tested too:
 * it must accept equal graphs and catch every kind of difference a serializer could introduce.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { assertIsomorphic, isomorphismError } from '../harness/equal.mjs';
import { table } from '../fixtures/data/table.mjs';

describe('accepts equal values', () => {
  test('every table entry made twice', () => {
    for (const entry of table) {
      if (entry.big) continue;
      assert.equal(isomorphismError(entry.make(), entry.make()), null, entry.name);
    }
  });
  test('-0, NaN, registered and well-known symbols', () => {
    assertIsomorphic([-0, NaN, Symbol.for('k'), Symbol.iterator], [-0, NaN, Symbol.for('k'), Symbol.iterator]);
  });
  test('a 200,000-deep list (iterative)', () => {
    const make = () => { let l = null; for (let i = 0; i < 200_000; i++) l = { i, l }; return l; };
    assertIsomorphic(make(), make());
  });
});

const s1 = Symbol('s'), s2 = Symbol('s');
const shared = { x: 1 };
const ab = new ArrayBuffer(8);
const cyc = () => { const o = { n: 1 }; o.self = o; return o; };
const frozen = (o) => Object.freeze(o);
const def = (o, k, d) => Object.defineProperty(o, k, d);

/** [what differs, actual, expected, a substring the message must contain] */
const differences = [
  ['-0 and 0', -0, 0, 'expected 0, found -0'],
  ['NaN and 0', NaN, 0],
  ['bigint and number', 1n, 1],
  ['string and number', '1', 1],
  ['undefined and null', undefined, null],
  ['a hole and undefined', [, 1], [undefined, 1], 'own keys'], // eslint-disable-line no-sparse-arrays
  ['array lengths', [1, 2], [1, 2, 3]],
  ['an extra key', { a: 1, b: 2 }, { a: 1 }, 'own keys'],
  ['key order', { a: 1, b: 2 }, { b: 2, a: 1 }, 'own keys'],
  ['a nested value, with its path', { a: [{ b: 1 }] }, { a: [{ b: 2 }] }, 'at root.a[0].b'],
  ['enumerability', def({}, 'k', { value: 1, enumerable: false, writable: true, configurable: true }), { k: 1 }, 'enumerable'],
  ['writability', def({}, 'k', { value: 1, enumerable: true, writable: false, configurable: true }), { k: 1 }, 'writable'],
  ['configurability', def({}, 'k', { value: 1, enumerable: true, writable: true, configurable: false }), { k: 1 }, 'configurable'],
  ['accessor and data property', def({}, 'k', { get: undefined, enumerable: true, configurable: true }), { k: undefined }, 'accessor'],
  ['frozen and not', frozen({ a: 1 }), { a: 1 }, 'extensible'],
  ['sealed and frozen', Object.seal({ a: 1 }), frozen({ a: 1 }), 'frozen'],
  ['non-extensible and sealed', Object.preventExtensions({ a: 1 }), Object.seal({ a: 1 }), 'sealed'],
  ['null and Object prototype', Object.create(null), {}, 'prototype'],
  ['custom prototypes with different contents', Object.create({ p: 1 }), Object.create({ p: 2 }), 'root.<prototype>.p'],
  ['Map and plain object', {}, new Map(), 'Map'],
  ['Map entry order', new Map([[1, 1], [2, 2]]), new Map([[2, 2], [1, 1]])],
  ['Map values', new Map([[1, 1]]), new Map([[1, 2]]), '.get(#0)'],
  ['Set contents', new Set([1, 2]), new Set([1, 3])],
  ['Map key identity', (() => { const k = {}; return { k, m: new Map([[{}, 1]]) }; })(), (() => { const k = {}; return { k, m: new Map([[k, 1]]) }; })(), 'shared'],
  ['Date times', new Date(1), new Date(2), 'time'],
  ['invalid and valid Date', new Date(NaN), new Date(0)],
  ['RegExp flags', /a/g, /a/i, 'flags'],
  ['RegExp source', /a/, /b/, 'source'],
  ['RegExp lastIndex', Object.assign(/a/g, { lastIndex: 1 }), /a/g, 'lastIndex'],
  ['typed array types', new Int8Array(2), new Uint8Array(2), 'Uint8Array'],
  ['typed array bytes', new Uint8Array([1, 2]), new Uint8Array([1, 3]), 'elements differ'],
  ['Buffer and Uint8Array', new Uint8Array(2), Buffer.alloc(2), 'prototype'],
  ['views that stopped sharing a buffer', [new Uint8Array(8), new Uint8Array(8)], [new Uint8Array(ab), new Uint8Array(ab)], 'buffer'],
  ['views that started sharing a buffer', (() => { const b = new ArrayBuffer(8); return [new Uint8Array(b), new Uint8Array(b)]; })(), [new Uint8Array(8), new Uint8Array(8)], 'buffer'],
  ['views whose relative offsets changed', (() => { const b = new ArrayBuffer(8); return [new Uint8Array(b, 0, 2), new Uint8Array(b, 4, 2)]; })(), (() => { const b = new ArrayBuffer(8); return [new Uint8Array(b, 0, 2), new Uint8Array(b, 2, 2)]; })(), 'relative offsets'],
  ['a whole buffer that shrank', [new ArrayBuffer(4)], [new ArrayBuffer(8)], 'byteLength'],
  ['buffer bytes', new Uint8Array([1]).buffer, new Uint8Array([2]).buffer, 'bytes'],
  ['DataView bytes', new DataView(new Uint8Array([1, 2]).buffer), new DataView(new Uint8Array([1, 3]).buffer), 'bytes'],
  ['error classes', new Error('m'), Object.assign(new TypeError('m'), { stack: new Error('m').stack }), 'prototype'],
  ['error messages', (() => { const e = new Error('a'); e.stack = 's'; return e; })(), (() => { const e = new Error('b'); e.stack = 's'; return e; })(), 'message'],
  ['error stacks', (() => { const e = new Error('a'); e.stack = 's1'; return e; })(), (() => { const e = new Error('a'); e.stack = 's2'; return e; })(), 'stack'],
  ['error causes', (() => { const e = new Error('a', { cause: 1 }); e.stack = 's'; return e; })(), (() => { const e = new Error('a', { cause: 2 }); e.stack = 's'; return e; })(), 'cause'],
  ['error and plain object', { message: 'm' }, (() => { const e = new Error('m'); delete e.stack; return e; })(), 'Error'],
  ['boxed values', new Number(1), new Number(2), 'boxed'],
  ['boxed and primitive', new String('a'), 'a'],
  ['boxed -0', new Number(0), new Number(-0)],
  ['registered and unique symbol', Symbol('k'), Symbol.for('k'), 'registered'],
  ['well-known and unique symbol', Symbol('Symbol.iterator'), Symbol.iterator],
  ['symbol descriptions', Symbol('a'), Symbol('b')],
  ['one symbol that became two', [s1, s2], (() => { const s = Symbol('s'); return [s, s]; })(), 'symbol'],
  ['two symbols that became one', [s1, s1], [Symbol('s'), Symbol('s')], 'symbol'],
  ['symbol keys that lost identity with values', (() => ({ [Symbol('k')]: 1, v: Symbol('k') }))(), (() => { const k = Symbol('k'); return { [k]: 1, v: k }; })(), 'symbol'],
  ['URL href', new URL('http://a.test/'), new URL('http://b.test/'), 'href'],
  ['URLSearchParams', new URLSearchParams('a=1'), new URLSearchParams('a=2'), 'params'],
  ['a shared reference that was lost', [{ x: 1 }, { x: 1 }], [shared, shared], 'shared'],
  ['a reference shared that was not', [shared, shared], [{ x: 1 }, { x: 1 }], 'shared'],
  ['a cycle unrolled', (() => { const o = { n: 1 }; o.self = { n: 1, self: o }; return o; })(), cyc()],
  ['a built-in replaced by a copy', { op: {} }, { op: Object.prototype }, 'built-in'],
  ['a function replaced by undefined', { f: undefined }, { f() {} }],
];

describe('catches every kind of difference', () => {
  for (const [what, actual, expected, message] of differences) {
    test(what, () => {
      const error = isomorphismError(actual, expected);
      assert.notEqual(error, null, 'no difference found');
      if (message !== undefined) assert.ok(error.includes(message), `message "${error}" should mention "${message}"`);
      assert.throws(() => assertIsomorphic(actual, expected), { name: 'AssertionError' });
    });
  }

  test('fresh: an in-process copy may not hand back an original object', () => {
    const inner = { a: 1 };
    assert.equal(isomorphismError({ inner }, { inner }), null);
    assert.match(isomorphismError({ inner }, { inner }, { fresh: true }), /itself/);
    assert.equal(isomorphismError({ m: Math }, { m: Math }, { fresh: true }), null, 'built-ins are shared by design');
  });

  test('a difference at the end of a 200,000-deep list', () => {
    const make = (last) => { let l = { last }; for (let i = 0; i < 200_000; i++) l = { l }; return l; };
    assert.match(isomorphismError(make(1), make(2)), /expected 2, found 1/);
  });
});

test('never calls an accessor or a Proxy trap', () => {
  const calls = [];
  const make = () => Object.defineProperty({}, 'x', { get() { calls.push('get'); }, set() { calls.push('set'); }, enumerable: true });
  assert.equal(isomorphismError(make(), make()), null); // functions compare by source and own properties
  const traps = () => new Proxy({}, Object.fromEntries(['get', 'getPrototypeOf', 'ownKeys', 'getOwnPropertyDescriptor', 'isExtensible']
    .map((t) => [t, (...a) => { calls.push(t); return Reflect[t](...a); }])));
  assert.match(isomorphismError({ p: traps() }, { p: traps() }), /Proxy/);
  assert.deepEqual(calls, []);
});
