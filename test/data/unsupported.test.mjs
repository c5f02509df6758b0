/**
 * What cannot travel fails at dumps — never later, never silently — with PIKALA_UNSUPPORTED and the path of
 * the offending value. And dumps never runs user code to find out: no getter, setter or Proxy trap is called,
 * even when the dump fails.
 */
import './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dumps, loads, PikalaError } from '../../dist/esm/index.js';
import { unsupported } from '../fixtures/data/table.mjs';

describe('values that cannot travel fail with PIKALA_UNSUPPORTED and their path', () => {
  for (const entry of unsupported) {
    test(entry.name, { todo: entry.todo }, () => {
      const value = entry.make();
      try {
        assert.throws(() => dumps(value), (e) => {
          assert.ok(e instanceof PikalaError, `expected a PikalaError, got ${e?.constructor?.name}: ${e?.message}`);
          assert.equal(e.code, 'PIKALA_UNSUPPORTED');
          assert.equal(e.path, entry.path);
          assert.ok(e.message.includes(entry.path), `the message names the path: ${e.message}`);
          assert.equal(e.name, 'PikalaError');
          return true;
        });
      } finally {
        entry.dispose?.(value);
      }
    });
  }
});

/**
 * A getter or setter that is a function is shipped by value (or, where it cannot be, makes dumps fail); either
 * way dumps must not call it. `spy()` returns accessors that record their calls.
 */
function spy() {
  const calls = [];
  return {
    calls,
    get: function get() { calls.push('get'); return 'got'; },
    set: function set(v) { calls.push(`set ${v}`); },
  };
}

/** Dumps `value`: it may fail only with PIKALA_UNSUPPORTED; returns the bytes or undefined. */
function dumpsOrUnsupported(value) {
  try {
    return dumps(value);
  } catch (e) {
    assert.ok(e instanceof PikalaError, `expected a PikalaError, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, 'PIKALA_UNSUPPORTED');
    return undefined;
  }
}

const accessorCases = [
  ['getter on a plain object', (s) => Object.defineProperty({ a: 1 }, 'x', { get: s.get, enumerable: true, configurable: true })],
  ['setter only', (s) => Object.defineProperty({}, 'x', { set: s.set, enumerable: true })],
  ['getter and setter, non-enumerable', (s) => Object.defineProperty({}, 'x', { get: s.get, set: s.set })],
  ['getter with a symbol key', (s) => Object.defineProperty({}, Symbol('k'), { get: s.get, enumerable: true })],
  ['getter on an array index', (s) => Object.defineProperty([1, 2], 0, { get: s.get, enumerable: true })],
  ['getter as an array named property', (s) => Object.defineProperty([1], 'extra', { get: s.get })],
  ['getter on a frozen object', (s) => Object.freeze(Object.defineProperty({}, 'x', { get: s.get, enumerable: true }))],
  ['getter on a Map', (s) => Object.defineProperty(new Map([[1, 2]]), 'x', { get: s.get })],
  ['getter on a typed array', (s) => Object.defineProperty(new Uint8Array(2), 'x', { get: s.get })],
  ['getter on a Date', (s) => Object.defineProperty(new Date(0), 'x', { get: s.get })],
  ['getter named cause on an Error', (s) => Object.defineProperty(new Error('e'), 'cause', { get: s.get })],
  ['getter in a prototype object', (s) => Object.create(Object.defineProperty({}, 'x', { get: s.get, enumerable: true }))],
  ['getter on a null-prototype object', (s) => ({ o: Object.defineProperty(Object.create(null), 'x', { get: s.get, enumerable: true }) })],
  ['getters named like what a serializer might read', (s) => {
    const o = {};
    for (const k of ['toJSON', 'valueOf', 'toString', 'constructor', 'length', 'size', 'then', 'buffer', 'byteLength', 'message', 'stack', 'name']) {
      Object.defineProperty(o, k, { get: s.get, set: s.set, enumerable: true });
    }
    Object.defineProperty(o, Symbol.toPrimitive, { get: s.get });
    Object.defineProperty(o, Symbol.toStringTag, { get: s.get });
    Object.defineProperty(o, Symbol.iterator, { get: s.get });
    return o;
  }],
  ['getters on a Map prototype object', (s) => Object.setPrototypeOf(new Map(), Object.create(Map.prototype, { size: { get: s.get }, entries: { get: s.get } }))],
  ['class instance whose class has a static name getter', (s) => { class K { static get name() { return s.get(); } } return { k: new K() }; }],
];

describe('dumps never calls a getter or setter', () => {
  for (const [name, make] of accessorCases) {
    test(name, () => {
      const s = spy();
      dumpsOrUnsupported(make(s));
      assert.deepEqual(s.calls, []);
    });
  }

  test('a class with a static name getter, as a value', () => {
    const s = spy();
    class K { static get name() { return s.get(); } }
    dumpsOrUnsupported({ k: K });
    assert.deepEqual(s.calls, []);
  });

  test('a function whose own name is an accessor', () => {
    const s = spy();
    dumpsOrUnsupported({ f: Object.defineProperty(function f() {}, 'name', { get: s.get }) });
    assert.deepEqual(s.calls, []);
  });

  test('an Error whose message or name is a getter (own or inherited) travels without its stack', () => {
    // V8 formats a stack when it is first read, reading name and message: so the stack is left behind.
    const s = spy();
    const e = Object.defineProperty(new Error('e'), 'message', { get: s.get });
    class Named extends Error {}
    Object.defineProperty(Named.prototype, 'name', { get: s.get });
    const n = new Named('n');
    const back = loads(dumps([e, n]));
    assert.deepEqual(s.calls, []);
    assert.equal(Object.hasOwn(back[0], 'stack'), false);
    assert.equal(Object.getOwnPropertyDescriptor(back[0], 'message').get !== undefined, true);
    assert.equal(back[1] instanceof Error, true);
  });
});


describe('dumps never runs a Proxy trap', () => {
  const traps = ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'defineProperty', 'deleteProperty',
    'getPrototypeOf', 'setPrototypeOf', 'isExtensible', 'preventExtensions', 'apply', 'construct'];
  function trapped(target, calls) {
    return new Proxy(target, Object.fromEntries(traps.map((t) => [t, (...args) => { calls.push(t); return Reflect[t](...args); }])));
  }
  const cases = [
    ['object proxy', (calls) => ({ p: trapped({ a: 1 }, calls) })],
    ['array proxy', (calls) => [trapped([1, 2], calls)]],
    ['proxy as a Map key', (calls) => new Map([[trapped({}, calls), 1]])],
    ['proxy as a prototype', (calls) => Object.create(trapped({}, calls))],
    ['proxy as the prototype of a Map', (calls) => Object.setPrototypeOf(new Map(), trapped(Object.create(Map.prototype), calls))],
    ['proxy as the constructor of a prototype', (calls) => Object.create({ constructor: trapped(function C() {}, calls) })],
    ['function proxy', (calls) => ({ f: trapped(function f() {}, calls) })],
  ];
  for (const [name, make, todo] of cases) {
    test(name, { todo }, () => {
      const calls = [];
      const value = make(calls);
      assert.throws(() => dumps(value), { code: 'PIKALA_UNSUPPORTED' });
      assert.deepEqual(calls, []);
    });
  }
});

describe('function accessors round-trip', () => {
  test('a getter and setter stay an accessor, are not called by dumps or loads, and work after load', () => {
    let calls = 0;
    const o = { store: 1 };
    Object.defineProperty(o, 'x', {
      get() { calls++; return this.store * 2; },
      set(v) { calls++; this.store = v; },
      enumerable: true, configurable: false,
    });
    const loaded = loads(dumps(o));
    assert.equal(calls, 0);
    const d = Object.getOwnPropertyDescriptor(loaded, 'x');
    assert.equal(typeof d.get, 'function');
    assert.equal(typeof d.set, 'function');
    assert.equal(d.enumerable, true);
    assert.equal(d.configurable, false);
    assert.equal(loaded.x, 2);
    loaded.x = 5;
    assert.equal(loaded.store, 5);
  });
  test('an accessor shared by two objects is one function after load', () => {
    const get = function () { return 1; };
    const a = Object.defineProperty({}, 'x', { get }), b = Object.defineProperty({}, 'y', { get });
    const [la, lb] = loads(dumps([a, b]));
    assert.equal(Object.getOwnPropertyDescriptor(la, 'x').get, Object.getOwnPropertyDescriptor(lb, 'y').get);
  });
});
