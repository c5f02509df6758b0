/**
 * Data-only mode: loads(b, { allowCode: false }) never compiles code, never loads a module and never calls
 * anything; a payload holding functions (built-ins included), classes or module references fails with
 * PIKALA_CODE_REFUSED before anything runs — also when the header's has-code flag was cleared by tampering.
 * Plain data (the whole fixture table) still loads.
 */
import {
  FLAG, FLAGS_OFFSET, KIND, array, builtin, injectIntoPrologue, installCodeTraps, payload, plainFill, realmChanges, record,
  ref, shapeNew, snapshotRealm, str, tamper,
} from './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PIKALA_ESM } from '../harness/roundtrip.mjs';
import { dumps, loads } from '../../dist/esm/index.js';
import { table } from '../fixtures/data/table.mjs';
import { verify } from '../fixtures/data/verify.mjs';

const run = promisify(execFile);

function outcome(fn) {
  try { fn(); return 'loaded'; } catch (e) { return e?.name === 'PikalaError' ? e.code : `${e?.name}: ${e?.message}`; }
}

/** Loads `bytes` data-only with every tripwire armed; returns the outcome and what the load touched. */
function guardedLoad(bytes) {
  const log = { armed: false, calls: [] };
  const realm = snapshotRealm();
  const traps = installCodeTraps(log);
  const mark = traps.mark();
  let result;
  try {
    log.armed = true;
    result = outcome(() => loads(bytes, { allowCode: false }));
  } finally {
    log.armed = false;
    traps.remove();
  }
  return { result, calls: log.calls, modules: traps.loadedSince(mark), realm: realmChanges(realm) };
}

// ---------------------------------------------------------------------------------- code the payloads carry

const captured = { count: 0 };
let pointsMade = 0;
function closure(x) { captured.count++; return x + captured.count; }
class Point {
  static made = 0;
  #secret = 1;
  constructor(x, y) { Point.made++; this.x = x; this.y = y; }
  norm() { return Math.hypot(this.x, this.y) + this.#secret; }
}
class Plain { constructor() { this.a = 1; } }
const bound = function (a, b) { return this.k + a + b; }.bind({ k: 1 }, 2);
async function asyncFn() { await null; return 1; }
function* generator() { yield 1; }
const withAccessor = { get value() { return 1; }, set value(_v) { /* nothing */ } };

const codeValues = [
  ['a closure', () => closure],
  ['an arrow', () => (x) => x * 2],
  ['a class', () => Point],
  ['an instance of a by-value class (#private state)', () => { pointsMade++; return new Point(3, 4); }],
  ['an instance of a plain by-value class', () => new Plain()],
  ['a bound function', () => bound],
  ['an async function', () => asyncFn],
  ['a generator function', () => generator],
  ['an object with accessor functions', () => withAccessor],
  ['the built-in Math.max', () => Math.max],
  ['the built-in Object', () => Object],
  ['the built-in Array.prototype.push', () => Array.prototype.push],
  ['the built-in Function.prototype', () => Function.prototype],
  ['the built-in eval', () => eval],
  ['a node: module function (fs.readFileSync)', () => fs.readFileSync],
  ['a built-in deep inside data', () => ({ a: [1, { b: new Map([['k', [Math.max]]]) }] })],
  ['a closure deep inside data', () => ({ a: [1, { b: new Set([closure]) }] })],
  ['a method on a plain object', () => ({ n: 1, twice() { return this.n * 2; } })],
];

describe('payloads holding code are refused with PIKALA_CODE_REFUSED', () => {
  for (const [name, make] of codeValues) {
    test(name, () => {
      const bytes = dumps(make());
      const seen = guardedLoad(bytes);
      assert.equal(seen.result, 'PIKALA_CODE_REFUSED');
      assert.deepEqual(seen.calls, [], 'compiled code or loaded a module');
      assert.deepEqual(seen.modules, [], 'loaded a built-in module');
      assert.deepEqual(seen.realm, [], 'changed the realm');
    });

    test(`${name}, with the header's has-code flag cleared by tampering`, () => {
      const bytes = tamper(dumps(make()), (b) => { b[FLAGS_OFFSET] &= ~FLAG.HasCode; });
      const seen = guardedLoad(bytes);
      assert.equal(seen.result, 'PIKALA_CODE_REFUSED');
      assert.deepEqual(seen.calls, [], 'compiled code or loaded a module');
      assert.deepEqual(seen.modules, [], 'loaded a built-in module');
      assert.deepEqual(seen.realm, [], 'changed the realm');
    });
  }

  test('no constructor, static initializer or function body ran while dumping and refusing', () => {
    assert.equal(captured.count, 0);
    assert.equal(Point.made, pointsMade, 'only the instances the tests made');
  });

  test('edited shipped code (a top-level side effect in the code prologue) never runs', () => {
    const marker = `__pikalaDataOnlyInjected${process.pid}`;
    const edited = injectIntoPrologue(dumps(closure), `globalThis.${marker} = 1`);
    try {
      assert.equal(guardedLoad(edited).result, 'PIKALA_CODE_REFUSED');
      assert.equal(guardedLoad(tamper(edited, (b) => { b[FLAGS_OFFSET] &= ~FLAG.HasCode; })).result, 'PIKALA_CODE_REFUSED');
      assert.equal(globalThis[marker], undefined, 'the injected code ran');
      loads(edited); // control: with allowCode the edit is live
      assert.equal(globalThis[marker], 1, 'the control did not run the injected code: the test proves nothing');
    } finally {
      delete globalThis[marker];
    }
  });

  test('every code record kind, hand-crafted without a prologue or header flag', () => {
    for (const [name, kind] of Object.entries(KIND)) {
      if (kind < KIND.Instance || kind === KIND.Arguments) continue;
      const seen = guardedLoad(payload(array([[1], record(kind, [0, 0, 0, 0, 0, 0])])));
      assert.equal(seen.result, 'PIKALA_CODE_REFUSED', name);
      assert.deepEqual(seen.calls, [], name);
    }
  });

  test('built-in functions by path, as values and as prototypes', () => {
    const paths = ['Math.max', 'Object', 'Function', 'eval', 'Function.prototype', 'Array.prototype.push',
      'Reflect.apply', 'globalThis', 'global', 'process', 'process.binding', 'require', 'setTimeout',
      'queueMicrotask', 'structuredClone', '%ThrowTypeError%', '%GeneratorFunction%', '%AsyncFunction%',
      'node:fs.readFileSync', 'node:child_process.execSync', 'node:vm.runInThisContext', 'node:fs', 'Nope.nothing',
      'WebAssembly.compile', 'Atomics.wait'];
    for (const path of paths) {
      for (const bytes of [
        payload(builtin(path)),
        payload(shapeNew(['k'], [builtin(path)])),
        payload(record(KIND.Ordinary, [], plainFill(), { proto: builtin(path) })),
      ]) {
        const seen = guardedLoad(bytes);
        assert.equal(seen.result, 'PIKALA_CODE_REFUSED', path);
        assert.deepEqual(seen.calls, [], path);
        assert.deepEqual(seen.realm, [], path);
      }
    }
  });

  test('a module reference (installed package), also with the flag cleared', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pikala-data-only-'));
    try {
      const pkg = join(dir, 'node_modules', 'pikala-test-dataonly');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'pikala-test-dataonly', version: '1.0.0', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), 'exports.hello = function hello() { return "hi"; };\n');
      const { hello } = createRequire(join(dir, 'entry.js'))('pikala-test-dataonly');
      const bytes = dumps({ hello });
      assert.equal(guardedLoad(bytes).result, 'PIKALA_CODE_REFUSED');
      const cleared = tamper(bytes, (b) => { b[FLAGS_OFFSET] &= ~FLAG.HasCode; });
      const seen = guardedLoad(cleared);
      assert.equal(seen.result, 'PIKALA_CODE_REFUSED');
      assert.deepEqual(seen.calls, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('allowCode fails closed', () => {
  const code = dumps((x) => x + 1);
  for (const allowCode of [false, 'false', 0, null, '', 'no', 'true', 1]) {
    test(`allowCode: ${JSON.stringify(allowCode)} is data only`, () => {
      assert.equal(outcome(() => loads(code, { allowCode })), 'PIKALA_CODE_REFUSED');
    });
  }
  test('allowCode: true and no option load code', () => {
    assert.equal(loads(code, { allowCode: true })(1), 2);
    assert.equal(loads(code, {})(1), 2);
    assert.equal(loads(code)(1), 2);
  });
});

describe('plain data still loads data-only', () => {
  test('every entry of the fixture table (Errors, Maps, typed arrays, Buffers, symbols, cycles...)', () => {
    let n = 0;
    for (const entry of table) {
      if (entry.big || entry.todo || entry.builtins) continue; // built-ins as values need allowCode
      const bytes = dumps(entry.make());
      assert.equal(bytes[FLAGS_OFFSET] & FLAG.HasCode, 0, `${entry.name} has code`);
      const seen = { calls: [] };
      const log = { armed: true, calls: seen.calls };
      const traps = installCodeTraps(log);
      let loaded;
      try {
        loaded = loads(bytes, { allowCode: false });
      } finally {
        log.armed = false;
        traps.remove();
      }
      assert.deepEqual(seen.calls, [], entry.name);
      assert.equal(verify(entry, loaded, entry.make(), { fresh: true }), null, entry.name);
      n++;
    }
    assert.ok(n > 100, `only ${n} entries checked`);
  });

  test('Errors of every kind with cause, AggregateError, Maps, Sets, typed arrays, Buffer, Date, RegExp, URL', () => {
    const e = new TypeError('bad', { cause: new RangeError('inner') });
    const agg = new AggregateError([e, new Error('x')], 'many');
    const v = {
      e, agg, m: new Map([[{ k: 1 }, new Set([1n, 'x'])]]), f64: new Float64Array([1.5, NaN]), buf: Buffer.from('hé'),
      big: new BigInt64Array([-1n]), d: new Date(86400000), r: /a+b/giu, u: new URL('https://x.test/p?q=1#h'),
      q: new URLSearchParams('a=1&b=2'), sym: Symbol.for('registered'), neg: -0,
    };
    const loaded = loads(dumps(v), { allowCode: false });
    assert.ok(loaded.e instanceof TypeError && loaded.e.cause instanceof RangeError);
    assert.equal(loaded.e.message, 'bad');
    assert.ok(loaded.agg instanceof AggregateError && loaded.agg.errors[0] === loaded.e);
    assert.deepEqual([...loaded.m.values()][0], new Set([1n, 'x']));
    assert.ok(Buffer.isBuffer(loaded.buf) && loaded.buf.toString() === 'hé');
    assert.equal(loaded.u.href, 'https://x.test/p?q=1#h');
    assert.equal(loaded.sym, Symbol.for('registered'));
    assert.ok(Object.is(loaded.neg, -0));
  });
});

// Former known gaps (todo tests until da0e2fd): now regression tests.
describe('built-ins in data-only mode', () => {
  test('data-only loads never hand out the receiver\'s own intrinsics as values', () => {
    // A built-in object may be refused (PIKALA_CODE_REFUSED) or be a prototype, but never be a loaded value.
    const leaked = [];
    const intrinsics = [['Object.prototype', Object.prototype], ['Array.prototype', Array.prototype],
      ['console', console], ['Reflect', Reflect], ['JSON', JSON], ['Math', Math], ['Buffer.prototype', Buffer.prototype],
      ['global.Math', Math], ['%IteratorPrototype%', Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))]];
    for (const [path, object] of intrinsics) {
      let loaded;
      try {
        loaded = loads(payload(shapeNew(['p'], [builtin(path)])), { allowCode: false });
      } catch (e) {
        if (e?.name !== 'PikalaError') leaked.push(`${path}: ${e?.name}: ${e?.message}`);
        continue;
      }
      if (loaded.p === object) leaked.push(path);
    }
    // The gadget: the application writes into what it loaded (if loads hands anything out).
    let config;
    try {
      config = loads(payload(shapeNew(['defaults'], [builtin('Object.prototype')])), { allowCode: false });
    } catch (e) {
      assert.equal(e?.name, 'PikalaError', `not a PikalaError: ${e?.stack ?? e}`);
    }
    try {
      if (config?.defaults !== undefined && config?.defaults !== null) config.defaults.pikalaPolluted = true;
      assert.equal({}.pikalaPolluted, undefined, 'writing into loaded data polluted Object.prototype');
    } finally {
      delete Object.prototype.pikalaPolluted;
    }
    assert.deepEqual(leaked, []);
  });

  test('a built-in read as a prototype cannot come back as a value through a reference (fuzz finding)', () => {
    // [ObjShape {p, q}: p = an object whose prototype is Map.prototype, q = Ref to that prototype]. The
    // prototype is structure; the Ref would hand the receiver's own Map.prototype to the application.
    const objectKind = KIND.Ordinary;
    for (const [path, object] of [['Map.prototype', Map.prototype], ['Object.prototype', Object.prototype]]) {
      // Memo: 0 = the record, 1 = the built-in (read as its prototype), 2 = the object.
      const bytes = payload(shapeNew(['p', 'q'], [record(objectKind, [], plainFill(), { proto: builtin(path) }), ref(1)]));
      let loaded;
      const result = outcome(() => { loaded = loads(bytes, { allowCode: false }); });
      assert.equal(result, 'PIKALA_CODE_REFUSED', path);
      assert.equal(loaded, undefined);
      // With code allowed, the same bytes are the receiver's own built-in (a reference, as written).
      assert.equal(loads(bytes).q, object, path);
    }
  });

  test('dumps marks a payload that hands out a built-in it first wrote as a prototype', () => {
    const proto = Object.create(Map.prototype);
    const bytes = dumps({ a: Object.create(proto), b: proto, c: Map.prototype });
    assert.ok(bytes[FLAGS_OFFSET] & FLAG.HasCode);
    assert.equal(outcome(() => loads(bytes, { allowCode: false })), 'PIKALA_CODE_REFUSED');
    assert.equal(loads(bytes).c, Map.prototype);
    // As a prototype only, it stays data.
    const data = dumps({ a: Object.create(Map.prototype), b: Object.create(Map.prototype) });
    assert.equal(data[FLAGS_OFFSET] & FLAG.HasCode, 0);
    assert.equal(Object.getPrototypeOf(loads(data, { allowCode: false }).b), Map.prototype);
  });

  test('the header\'s has-code flag is set for every payload that holds code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pikala-flag-'));
    try {
      const pkg = join(dir, 'node_modules', 'pikala-test-flag');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'pikala-test-flag', version: '1.0.0', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), 'exports.hello = function hello() { return "hi"; };\n');
      const { hello } = createRequire(join(dir, 'entry.js'))('pikala-test-flag');
      for (const [name, v] of [['module reference', { hello }], ['Math.max', Math.max], ['fs.readFileSync', fs.readFileSync]]) {
        assert.ok(dumps(v)[FLAGS_OFFSET] & FLAG.HasCode, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refusing a built-in path loads no module and no Node subsystem', async () => {
    // In a child process: these loads change the process they run in.
    const script = `
      const { loads } = await import(process.argv[1]);
      const paths = JSON.parse(process.argv[2]);
      const out = {};
      for (const [path, bytes] of paths) {
        const before = process.moduleLoadList.length;
        let code = 'loaded';
        try { loads(Uint8Array.from(bytes), { allowCode: false }); } catch (e) { code = e.code; }
        out[path] = { code, modules: process.moduleLoadList.slice(before).filter((m) => m.startsWith('NativeModule ')).length };
      }
      console.log(JSON.stringify(out));`;
    const paths = ['node:domain', 'node:wasi', 'node:cluster', 'node:repl', 'Headers', 'ReadableStream']
      .map((p) => [p, [...payload(builtin(p))]]);
    const { stdout } = await run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script, PIKALA_ESM,
      JSON.stringify(paths)], { timeout: 60_000 });
    const out = JSON.parse(stdout);
    for (const [path] of paths) {
      assert.equal(out[path].code, 'PIKALA_CODE_REFUSED', path);
      assert.equal(out[path].modules, 0, `${path}: loaded ${out[path].modules} built-in modules`);
    }
  });
});

void str;
