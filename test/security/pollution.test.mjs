/**
 * Loading never pollutes the realm and never calls a getter or setter: own `__proto__`, `constructor` and
 * `prototype` keys come back as own data properties wherever they occur (plain records, shapes, generic
 * records, arrays, Maps, Errors), and properties are defined, not assigned, wherever the receiver's
 * Object.prototype or Array.prototype would intercept an assignment (checked on every load).
 */
import {
  KIND, array, builtin, installAccessorTraps, payload, plainFill, realmChanges, record, ref, shapeNew, shapeUse,
  snapshotRealm, str, u48,
} from './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PIKALA_ESM } from '../harness/roundtrip.mjs';
import { dumps, loads } from '../../dist/esm/index.js';
import { table } from '../fixtures/data/table.mjs';

const run = promisify(execFile);
const MODES = [['data-only', { allowCode: false }], ['code allowed', {}]];
const DANGEROUS = ['__proto__', 'constructor', 'prototype'];

function own(o, k) {
  return Object.getOwnPropertyDescriptor(o, k);
}

/** Loads in both modes; checks the realm after each load. Returns the data-only result. */
function loadChecked(bytes) {
  let first;
  for (const [mode, options] of MODES) {
    const snap = snapshotRealm();
    const v = loads(bytes, options);
    assert.deepEqual(realmChanges(snap), [], `${mode}: the realm changed`);
    assert.equal({}.polluted, undefined, `${mode}: Object.prototype.polluted`);
    assert.equal([].polluted, undefined, `${mode}: Array.prototype.polluted`);
    assert.equal((() => {}).polluted, undefined, `${mode}: Function.prototype.polluted`);
    first ??= v;
  }
  return first;
}

describe('no prototype pollution: values with own __proto__, constructor and prototype keys', () => {
  const hostile = () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "prototype": {"polluted": 3}}');

  const values = [
    ['a plain record (JSON.parse)', hostile],
    ['the same keys twice (shape reuse)', () => [hostile(), hostile()]],
    ['nested three deep', () => ({ a: { b: { c: hostile() } } })],
    // (A plain record first: a null-prototype object written first hits a known pickler bug, test/data/known-bugs.)
    ['a null-prototype object', () => [{}, Object.assign(Object.create(null), { x: 1 }, hostile())]],
    ['a frozen object', () => Object.freeze(hostile())],
    ['non-enumerable and read-only own __proto__', () => Object.defineProperty({}, '__proto__', { value: { polluted: 1 }, enumerable: false })],
    ['an array with an own __proto__ property', () => Object.defineProperty([1, 2], '__proto__', { value: { polluted: 1 }, enumerable: true, writable: true, configurable: true })],
    ['an Error with own __proto__ and constructor', () => Object.assign(new Error('e'), hostile())],
    ['a Map with those keys', () => new Map(DANGEROUS.map((k) => [k, { polluted: 1 }]))],
    ['a custom prototype carrying those keys', () => Object.create(hostile())],
  ];
  for (const [name, make] of values) {
    test(name, () => {
      const v = loadChecked(dumps(make()));
      assert.ok(v !== null && typeof v === 'object');
    });
  }

  test('own keys come back as own data properties, prototypes untouched', () => {
    const v = loadChecked(dumps(hostile()));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    for (const k of DANGEROUS) assert.ok(own(v, k) && 'value' in own(v, k), k);
    assert.deepEqual(own(v, '__proto__').value, { polluted: 1 });
    assert.equal(v.polluted, undefined);
  });
});

describe('no prototype pollution: hand-crafted payloads', () => {
  const polluted = shapeNew(['polluted'], [[1]]);
  const cases = [
    ['shape key __proto__', shapeNew(['__proto__'], [polluted])],
    ['shape key constructor → prototype', shapeNew(['constructor'], [shapeNew(['prototype'], [polluted])])],
    ['shape __proto__ reused', array([shapeNew(['__proto__', 'a'], [polluted, [1]]), shapeUse(1, [shapeNew(['polluted'], [[2]]), [2]])])],
    ['generic record property __proto__', record(KIND.Ordinary, [], plainFill([[str('__proto__'), polluted]]))],
    ['generic record properties __proto__ and constructor, non-enumerable', record(KIND.Ordinary, [],
      plainFill([[str('__proto__'), polluted, 1], [str('constructor'), shapeNew(['prototype'], [polluted]), 1]]))],
    ['null-prototype record with __proto__', record(KIND.Ordinary, [], plainFill([[str('__proto__'), polluted]]), { nullProto: true })],
    ['array record with property __proto__', record(KIND.Array, [], [0, 0, 0, 1, 7, ...str('__proto__'), ...polluted])],
    ['Error record with property __proto__', record(KIND.Error, [0], plainFill([[str('__proto__'), polluted], [str('message'), str('m')]]))],
    ['Map with key __proto__', record(KIND.Map, [], [0, 1, 0, ...str('__proto__'), ...polluted])],
    ['explicit prototype Object.prototype, property polluted', record(KIND.Ordinary, [], plainFill([[str('polluted'), [1]]]),
      { proto: builtin('Object.prototype') })],
    ['explicit prototype Array.prototype, property polluted', record(KIND.Ordinary, [], plainFill([[str('polluted'), [1]]]),
      { proto: builtin('Array.prototype') })],
    ['record whose prototype is an earlier record with __proto__', array([
      shapeNew(['__proto__'], [polluted]),
      record(KIND.Ordinary, [], plainFill([[str('polluted'), [1]]]), { proto: ref(1) }),
    ])],
    ['frozen record with __proto__ accessor without functions', record(KIND.Ordinary, [],
      plainFill([[str('__proto__'), [0x40, 0x40], 8 | 2]], 3))],
  ];
  for (const [name, body] of cases) {
    test(name, () => {
      const v = loadChecked(payload(body));
      assert.ok(v !== null && typeof v === 'object');
    });
  }

  test('shape key __proto__ gives an own property, not a prototype', () => {
    const v = loadChecked(payload(shapeNew(['__proto__'], [polluted])));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(own(v, '__proto__').value, { polluted: 1 });
  });
});

describe('no getter or setter runs during loads', () => {
  function trapped(target, keys, where, body) {
    const log = { armed: false, calls: [] };
    const traps = installAccessorTraps(target, keys, log, where);
    try {
      body(log);
    } finally {
      traps.remove();
    }
    return log.calls;
  }

  function loadArmed(log, bytes, options) {
    log.armed = true;
    try { return loads(bytes, options); } finally { log.armed = false; }
  }

  test('a setter on Object.prototype for a shape key is not called (both modes)', () => {
    const bytes = dumps([{ x: 1, y: 2 }, { x: 3, y: 4 }]);
    const calls = trapped(Object.prototype, ['x'], 'Object.prototype', (log) => {
      for (const [, options] of MODES) {
        const v = loadArmed(log, bytes, options);
        assert.deepEqual(own(v[0], 'x'), { value: 1, writable: true, enumerable: true, configurable: true });
        assert.equal(own(v[1], 'x').value, 3);
      }
    });
    assert.deepEqual(calls, []);
  });

  test('the hazard check is per load: a setter installed after a first load is not called either', () => {
    const bytes = dumps({ late: 1 });
    assert.equal(loads(bytes).late, 1);
    const calls = trapped(Object.prototype, ['late'], 'Object.prototype', (log) => {
      assert.equal(own(loadArmed(log, bytes, { allowCode: false }), 'late').value, 1);
    });
    assert.deepEqual(calls, []);
  });

  // A realm whose Array.prototype or Object.prototype has index accessors is refused (fail closed): every array
  // write, pikala's own working arrays included, would consult them. What matters is that none is called.
  test('index accessors on Array.prototype and Object.prototype are never called; such a realm refuses to load', async () => {
    // In a child process: with these accessors in place a failing load can break the test runner itself.
    const script = `
      const { dumps, loads } = await import(process.argv[1]);
      const sparse = []; sparse[1000] = 'far';
      const values = [[1, 2, 3], [1, , 3], Object.assign([1, 2], { extra: true }), sparse, { 0: 'zero', 1: 'one' }, new Array(5)];
      const bytes = values.map((v) => dumps(v));
      const out = [];
      for (const [target, where] of [[Array.prototype, 'Array.prototype'], [Object.prototype, 'Object.prototype']]) {
        // Sets and a string: an index setter on the prototypes would intercept this script's own array writes too.
        const calls = []; // not a Set: its methods are wrapped below
        for (const k of ['0', '1', '2', '1000']) {
          Object.defineProperty(target, k, { configurable: true, get() { calls.add('get ' + k); }, set(v) { calls.add('set ' + k); } });
        }
        let results = '';
        for (const b of bytes) {
          for (const allowCode of [false, true]) {
            try {
              const v = loads(b, { allowCode });
              const d = (k) => Object.getOwnPropertyDescriptor(v, k);
              results += JSON.stringify([d('0')?.value ?? null, d('1') ? 'own' : 'hole', d('1000')?.value ?? null]) + '\\n';
            } catch (e) { results += e.code + ': ' + e.message.slice(0, 80) + '\\n'; }
          }
        }
        for (const k of ['0', '1', '2', '1000']) delete target[k];
        out.push({ where, calls: [...calls], results: results.split('\\n').slice(0, -1) });
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, PIKALA_ESM], { timeout: 60_000 });
    const expected = ['[1,2,null]', '[1,"hole",null]', '[1,2,null]', '[null,"hole","far"]', '["zero","one",null]', '[null,"hole",null]']
      .flatMap((r) => [r, r]);
    for (const { where, calls, results } of JSON.parse(stdout)) {
      assert.deepEqual(calls, [], `${where}: accessors called`);
      assert.equal(results.length, expected.length, where);
      results.forEach((r, i) => {
        if (r !== expected[i]) assert.match(r, /^PIKALA_UNSUPPORTED: Array\.prototype or Object\.prototype has an index property/, where);
      });
    }
  });

  test('the built-in __proto__ accessor is not called for own __proto__ keys', () => {
    const original = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__');
    const calls = [];
    Object.defineProperty(Object.prototype, '__proto__', {
      configurable: true,
      get() { calls.push('get'); return original.get.call(this); },
      set(v) { calls.push('set'); return original.set.call(this, v); },
    });
    try {
      const bytes = [dumps(JSON.parse('{"__proto__": {"a": 1}}')), payload(shapeNew(['__proto__'], [[1]]))];
      for (const b of bytes) for (const [, options] of MODES) loads(b, options);
    } finally {
      Object.defineProperty(Object.prototype, '__proto__', original);
    }
    assert.deepEqual(calls, []);
  });

  test('getters for toJSON, then, Symbol.toPrimitive and common keys, and valueOf/toString, are never called (fixture table)', () => {
    // Only keys whose presence on Object.prototype does not disturb Node itself while the traps are installed.
    const keys = ['toJSON', 'then', 'cause', 'errors', 'lastIndex', 'byteOffset', 'source', 'flags', 'href', 'x', 'a',
      'b', 'k', Symbol.toPrimitive, Symbol.toStringTag];
    const payloads = table.filter((e) => !e.big && !e.todo && !e.builtins).map((e) => [e.name, dumps(e.make())]);
    const log = { armed: false, calls: [] };
    const traps = installAccessorTraps(Object.prototype, keys, log, 'Object.prototype');
    // Methods the loader might call on values it builds: wrap them to record calls too.
    const methods = [[Object.prototype, 'valueOf'], [Object.prototype, 'toString'], [Object.prototype, 'toLocaleString'],
      [Array.prototype, 'toString'], [Error.prototype, 'toString'], [Date.prototype, 'toJSON']];
    const saved = methods.map(([o, k]) => [o, k, o[k]]);
    for (const [o, k, f] of saved) o[k] = function (...args) { if (log.armed) log.calls[log.calls.length] = k; return f.apply(this, args); };
    let failure = null;
    try {
      for (const [name, bytes] of payloads) {
        for (const [mode, options] of MODES) {
          log.armed = true;
          try { loads(bytes, options); } finally { log.armed = false; }
          if (log.calls.length !== 0 && failure === null) failure = `${name} (${mode}): ${log.calls.join(', ')}`;
        }
      }
    } finally {
      for (const [o, k, f] of saved) o[k] = f;
      traps.remove();
    }
    assert.equal(failure, null);
  });

  test('no value conversion of payload objects (Symbol.toPrimitive, valueOf, toString) while defining properties', () => {
    // An array's `length` and a typed array's integer keys used to be defined with whatever value the payload gave,
    // so V8 converted a payload object (ToPrimitive): the receiver's Object.prototype[Symbol.toPrimitive] getter,
    // valueOf and toString ran during a data-only load (found by the fuzzer's accessor trap).
    const cases = {
      'array length = {}': payload(record(KIND.Array, [], [0, 0, 0, 1, 1, ...str('length'), ...shapeNew([], [])])),
      'typed array [0] = {}': payload(array([record(KIND.ArrayBuffer, [0, ...u48(8)]),
        record(KIND.TypedArray, [1, ...ref(1), ...u48(0), 8], [0, 0, 1, 7, ...str('0'), ...shapeNew([], [])])])),
    };
    const log = { armed: false, calls: [] };
    const traps = installAccessorTraps(Object.prototype, [Symbol.toPrimitive], log, 'Object.prototype');
    const valueOf = Object.prototype.valueOf;
    const toString = Object.prototype.toString;
    Object.prototype.valueOf = function () { if (log.armed) log.calls[log.calls.length] = 'valueOf'; return valueOf.call(this); };
    Object.prototype.toString = function () { if (log.armed) log.calls[log.calls.length] = 'toString'; return toString.call(this); };
    const seen = {};
    try {
      for (const [name, bytes] of Object.entries(cases)) {
        log.calls.length = 0;
        log.armed = true;
        try { loads(bytes, { allowCode: false }); } catch { /* PIKALA_CORRUPT is fine */ } finally { log.armed = false; }
        seen[name] = log.calls.slice();
      }
    } finally {
      Object.prototype.valueOf = valueOf;
      Object.prototype.toString = toString;
      traps.remove();
    }
    assert.deepEqual(seen, { 'array length = {}': [], 'typed array [0] = {}': [] });
  });
});

describe('replaced built-ins', () => {
  test('loads calls only the built-ins captured when pikala loaded, never the receiver\'s replacements', async () => {
    // In a child process: replacing Object or Array.prototype.push here would disturb the test runner.
    const script = `
      const { dumps, loads } = await import(process.argv[1]);
      const value = {
        m: new Map([[1, 2]]), s: new Set([1]), d: new Date(0), r: /x/g, b: 2n ** 80n, u: new URL('http://a/'),
        q: new URLSearchParams('a=1&b=x+y&c=%E2%82%AC%26&&d&=e&f=g=h'), buf: Buffer.from('hi'), dv: new DataView(new ArrayBuffer(4)), sym: Symbol('x'),
        n: new Number(3), list: [1, 2, 3],
      };
      const bytes = dumps(value);
      const calls = []; // not a Set: its methods are wrapped below
      const saved = [];
      // Armed only during loads: this script calls some of them too (saved.push once push is wrapped).
      let armed = false;
      const wrap = (obj, key, label) => {
        const orig = obj[key];
        saved.push(() => { obj[key] = orig; });
        obj[key] = new Proxy(orig, {
          apply(t, self, args) { if (armed) calls[calls.length] = label; return Reflect.apply(t, self, args); },
          construct(t, args, nt) { if (armed) calls[calls.length] = 'new ' + label; return Reflect.construct(t, args, nt); },
        });
      };
      for (const name of ['Map', 'Set', 'Date', 'RegExp', 'BigInt', 'URL', 'URLSearchParams', 'ArrayBuffer', 'DataView', 'Symbol', 'Object']) {
        wrap(globalThis, name, name);
      }
      wrap(Buffer, 'from', 'Buffer.from');
      wrap(Buffer, 'allocUnsafeSlow', 'Buffer.allocUnsafeSlow');
      wrap(globalThis, 'decodeURIComponent', 'decodeURIComponent');
      wrap(Array.prototype, 'push', 'Array.prototype.push');
      wrap(RegExp.prototype, 'exec', 'RegExp.prototype.exec');
      for (const k of ['get', 'set', 'has', 'delete', 'forEach', 'values']) wrap(Map.prototype, k, 'Map.prototype.' + k);
      for (const k of ['add', 'has', 'delete', 'forEach', 'values']) wrap(Set.prototype, k, 'Set.prototype.' + k);
      wrap(URLSearchParams.prototype, 'append', 'URLSearchParams.prototype.append');
      wrap(Object.getPrototypeOf([][Symbol.iterator]()), 'next', '%ArrayIteratorPrototype%.next');
      let loaded;
      armed = true;
      try { loaded = loads(bytes, { allowCode: false }); } finally { armed = false; for (const r of saved.reverse()) r(); }
      console.log(JSON.stringify({ length: loaded.list.length, calls: [...new Set(calls)], q: [...loaded.q], qs: String(loaded.q) }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, PIKALA_ESM], { timeout: 60_000 });
    const { length, calls, q, qs } = JSON.parse(stdout);
    assert.equal(length, 3);
    assert.deepEqual(calls, []);
    assert.deepEqual(q, [['a', '1'], ['b', 'x y'], ['c', '€&'], ['d', ''], ['', 'e'], ['f', 'g=h']]);
    assert.equal(qs, 'a=1&b=x+y&c=%E2%82%AC%26&d=&=e&f=g%3Dh');
  });
});
