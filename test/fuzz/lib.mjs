/**
 * The fuzzer's parts: a corpus of real payloads (data, code, signed), strategies that turn (seed, case index)
 * into input bytes deterministically, and the guarded load that classifies what happened.
 *
 * A case is a pure function of (seed, index, corpus), so any finding replays exactly:
 *   npm run fuzz -- --seed S --replay I
 *
 * What counts as a violation (must be 0):
 *   foreign     loads threw something that is not a PikalaError
 *   hang        a load did not return within the timeout (the watchdog in run.mjs)
 *   crash       the worker died (out of memory, fatal error)
 *   pollution   a built-in prototype or global changed (own keys, descriptors, prototype, extensibility)
 *   code-run    data-only mode compiled code (vm, eval) or required a module
 *   module-load data-only mode loaded a Node built-in module
 *   accessor    a trap getter/setter on Object.prototype (toJSON, then, Symbol.toPrimitive, ...) was called,
 *               or Error.prepareStackTrace ran, during a load
 *   function    data-only mode returned a value holding a function made from the payload (own property,
 *               element, entry, accessor); built-in functions are counted apart (builtin-fn)
 *   signature   a tampered signed payload loaded with the key did not fail with PIKALA_SIGNATURE
 *   intrinsic   data-only mode returned a value holding a realm intrinsic (Object.prototype, Math, console...)
 *               as a value, not as a prototype (a known bug until da0e2fd)
 * Reported, not violations: masked (a PIKALA_CORRUPT wrapping an engine error the catch-all in loads caught,
 * by message), builtin-fn (built-in functions in
 * a data-only result: a rebuilt `arguments` object owns %ThrowTypeError% and Array.prototype.values), slow loads, round-trip failures
 * of generated graphs (the data suites' business), compiles in code mode.
 */
import { FLAG, FLAGS_OFFSET, GUARDED, installAccessorTraps, installCodeTraps, quickRealmPrint, realmChanges, snapshotRealm } from '../security/support.mjs';
import { mulberry32 } from './mulberry32.mjs';

export const SIGNING_KEY = 'pikala-fuzz-key';
export const STRATEGIES = ['truncate', 'random', 'mutate', 'splice', 'graph', 'signed'];
export const VIOLATIONS = ['foreign', 'hang', 'crash', 'pollution', 'code-run', 'module-load', 'accessor', 'function', 'signature',
  'intrinsic'];

/**
 * Violations that are open, reported bugs (each has a todo test in test/security/): they are listed as
 * "known" and do not fail a run. Remove an entry when its bug is fixed.
 */
export const KNOWN_BUGS = [
  // Entries are { name, test: (finding) => boolean }. None open: the value-conversion bug (an array's `length` or
  // a typed array's index property defined with a payload object, read Object.prototype[Symbol.toPrimitive]) no
  // longer reproduces since da0e2fd: the fixed-seed run of fuzz.test.mjs found it at case 38888 (corpus of 3104dd4),
  // which replayed on da0e2fd fails with PIKALA_CORRUPT "array length is not a number" and calls no accessor.
];

export function knownBug(finding) {
  return KNOWN_BUGS.find((b) => b.test(finding))?.name;
}

/** The findings that are violations and not known bugs. */
export function violationsOf(findings) {
  return findings.filter((f) => VIOLATIONS.includes(f.kind) && knownBug(f) === undefined);
}

// ---------------------------------------------------------------------------------- randomness

/** The fuzzer's random source (mulberry32): same seed, same cases. */
export function rng(seed) {
  const next = mulberry32(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

export function caseSeed(seed, index) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------- corpus

/**
 * Real payloads: the data fixture table, random graphs, function fixtures and inline code (closures, classes,
 * bound functions, built-ins), and signed copies of some. Built in the main thread and handed to workers.
 */
export async function buildCorpus({ dumps, code = true, maxBytes = 64 * 1024, graphs = 40, quick = false } = {}) {
  // quick: leave out the table's deliberately huge or deep values (slow to build, and over maxBytes anyway).
  const heavy = quick ? /nested|chain|deep|dictionary|\d,\d{3}/i : null;
  const corpus = [];
  const add = (name, kind, make) => {
    let bytes;
    try { bytes = dumps(make()); } catch { return; }
    if (bytes.length <= maxBytes) corpus.push({ name, kind, bytes });
  };
  const { table } = await import('../fixtures/data/table.mjs');
  for (const e of table) if (!e.big && !e.todo && !(heavy && heavy.test(e.name))) add(e.name, 'data', e.make);
  const { randomGraphs } = await import('../fixtures/data/graphs.mjs');
  randomGraphs({ seed: 20_240_601, count: graphs }).forEach((make, i) => add(`graph #${i}`, 'data', () => [{}, make()]));
  if (code) {
    for (const file of ['kinds.mjs', 'properties.mjs', 'scopes.mjs', 'this-arguments.mjs', 'builtins.mjs', 'sharing.mjs']) {
      const mod = await import(`../fixtures/functions/${file}`);
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v === 'function' && v.pikalaFixtureFactory) continue;
        add(`${file}:${name}`, 'code', () => v);
      }
    }
    const offset = 3;
    class Shape { #id = 1; constructor(n) { this.n = n; } area() { return this.n * this.#id; } static make() { return new Shape(2); } }
    const inline = {
      closure: () => (x) => x + offset,
      class: () => Shape,
      instance: () => Shape.make(),
      bound: () => function (a) { return this.k + a; }.bind({ k: 1 }),
      mathMax: () => Math.max,
      builtins: () => ({ max: Math.max, push: Array.prototype.push, parse: JSON.parse }),
      mixed: () => ({ data: [1, 'two', { three: 3n }], fn: (y) => y * offset, when: new Date(0) }),
    };
    for (const [name, make] of Object.entries(inline)) add(`inline:${name}`, 'code', make);
    const { readFileSync } = await import('node:fs');
    add('node:fs.readFileSync', 'code', () => ({ read: readFileSync }));
  }
  // Signed copies of a spread of items (data and code).
  const base = corpus.slice();
  for (let i = 0; i < base.length; i += 7) {
    const item = base[i];
    try {
      // dumps again with the key (the same value is not at hand; re-sign the bytes the way dumps does).
      const { createHmac } = await import('node:crypto');
      const body = Uint8Array.from(item.bytes);
      body[FLAGS_OFFSET] |= FLAG.Signed;
      const mac = createHmac('sha256', SIGNING_KEY).update(body).digest();
      corpus.push({ name: `signed ${item.name}`, kind: item.kind === 'code' ? 'signed-code' : 'signed-data', bytes: Uint8Array.from([...body, ...mac]) });
    } catch { /* skip */ }
  }
  return corpus;
}

// ---------------------------------------------------------------------------------- strategies

const INTERESTING = [0x00, 0x01, 0x02, 0x07, 0x3f, 0x40, 0x41, 0x44, 0x45, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4e, 0x4f,
  0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc1, 0xfe, 0xff];

function bodyStart(bytes) {
  if (bytes.length < 8) return Math.min(bytes.length, 7);
  let n = 0, shift = 0, p = 7;
  for (;;) {
    if (p >= bytes.length) return bytes.length;
    const b = bytes[p++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80 || shift > 28) break;
  }
  return Math.min(p + n, bytes.length);
}

function mutateBytes(r, bytes, corpus) {
  const out = Array.from(bytes);
  const signed = (bytes[FLAGS_OFFSET] & FLAG.Signed) !== 0;
  const end = signed ? out.length - 32 : out.length;
  const start = r.chance(0.9) ? bodyStart(bytes) : 0;
  const span = Math.max(1, end - start);
  const ops = 1 + r.int(r.chance(0.8) ? 3 : 8);
  for (let k = 0; k < ops; k++) {
    const at = start + r.int(span);
    switch (r.int(9)) {
      case 0: out[at] = r.int(256); break;
      case 1: out[at] ^= 1 << r.int(8); break;
      case 2: out[at] = r.pick(INTERESTING); break;
      case 3: out[at] = (out[at] + (r.chance(0.5) ? 1 : 255)) & 0xff; break;
      case 4: out.splice(at, 0, ...Array.from({ length: 1 + r.int(4) }, () => r.pick(INTERESTING))); break;
      case 5: out.splice(at, 1 + r.int(Math.min(16, span))); break;
      case 6: { // duplicate a range several times (repeated records)
        const len = 1 + r.int(Math.min(32, span));
        const chunk = out.slice(at, at + len);
        const times = 1 + r.int(r.chance(0.1) ? 200 : 8);
        const copies = [];
        for (let t = 0; t < times; t++) copies.push(...chunk);
        out.splice(at, 0, ...copies);
        break;
      }
      case 7: { // a varint that announces something big
        const big = [0xff, 0xff, 0xff, 0xff, 0x0f];
        out.splice(at, 1, ...big.slice(0, 1 + r.int(5)));
        break;
      }
      default: { // copy bytes from another corpus item over this one
        const other = r.pick(corpus).bytes;
        const from = r.int(other.length);
        const len = 1 + r.int(Math.min(64, other.length - from));
        for (let j = 0; j < len && at + j < out.length; j++) out[at + j] = other[from + j];
      }
    }
  }
  return Uint8Array.from(out);
}

/** Two payloads joined: the head of one, the tail of another (structure-aware enough to reach deep states). */
function spliceBytes(r, a, b) {
  const cutA = bodyStart(a) + r.int(Math.max(1, a.length - bodyStart(a)));
  const startB = bodyStart(b) + r.int(Math.max(1, b.length - bodyStart(b)));
  return Uint8Array.from([...a.subarray(0, cutA), ...b.subarray(startB)]);
}

function randomBytes(r) {
  const n = r.int(r.chance(0.1) ? 4096 : 256);
  const body = Array.from({ length: n }, () => (r.chance(0.5) ? r.pick(INTERESTING) : r.int(256)));
  if (r.chance(0.15)) return Uint8Array.from(body);
  const flags = r.chance(0.8) ? 0 : r.int(4);
  return Uint8Array.from([0x50, 0x4b, 0x4c, 0x41, 2, r.chance(0.9) ? 0 : r.int(256), flags, 0, ...body, ...(r.chance(0.5) ? [0x55] : [])]);
}

/**
 * The input of case `index`: { strategy, bytes, options, source, key? }. `mode` is 'data-only' or 'code';
 * code mode only ever loads (mutations of) data payloads.
 */
export function makeCase({ seed, index, mode, corpus, strategies, fc, graphPlan, buildGraph, dumps }) {
  const r = rng(caseSeed(seed, index));
  const strategy = r.pick(strategies);
  const options = { allowCode: mode === 'code' };
  const pool = (kinds) => corpus.filter((c) => kinds.includes(c.kind));
  const unsigned = mode === 'code' ? pool(['data']) : pool(['data', 'code']);
  const item = r.pick(unsigned);
  switch (strategy) {
    case 'truncate':
      return { strategy, source: item.name, bytes: item.bytes.subarray(0, r.int(item.bytes.length)), options };
    case 'random':
      return { strategy, source: 'random', bytes: randomBytes(r), options };
    case 'mutate':
      return { strategy, source: item.name, bytes: mutateBytes(r, item.bytes, unsigned), options };
    case 'splice': {
      const other = r.pick(unsigned);
      let bytes = spliceBytes(r, item.bytes, other.bytes);
      if (r.chance(0.3)) bytes = mutateBytes(r, bytes, unsigned);
      return { strategy, source: `${item.name} + ${other.name}`, bytes, options };
    }
    case 'graph': {
      const plan = fc.sample(graphPlan, { seed: caseSeed(seed ^ 0x5bd1e995, index), numRuns: 1 })[0];
      let value;
      let bytes;
      try {
        value = [{}, buildGraph(plan)]; // a plain record first (known dumps bug with a null-prototype object first)
        bytes = dumps(value);
      } catch (e) {
        return { strategy, source: 'graph', bytes: null, dumpError: `${e?.name}: ${e?.message}`, options };
      }
      return { strategy, source: 'graph', bytes, roundTrip: true, mutated: mutateBytes(r, bytes, unsigned), options };
    }
    case 'signed': {
      const signedPool = mode === 'code' ? pool(['signed-data']) : pool(['signed-data', 'signed-code']);
      const s = r.pick(signedPool);
      const bytes = r.chance(0.2) ? s.bytes.subarray(0, r.int(s.bytes.length)) : mutateAnywhere(r, s.bytes);
      return { strategy, source: s.name, bytes, original: s.bytes, options: { ...options, key: SIGNING_KEY } };
    }
    default:
      throw new Error(`unknown strategy ${strategy}`);
  }
}

/** 1–3 byte changes anywhere; never the identity (two XORs of one byte can cancel out). */
function mutateAnywhere(r, bytes) {
  const out = Uint8Array.from(bytes);
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) out[r.int(out.length)] ^= 1 + r.int(255);
  if (Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.length), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)) === 0) {
    out[r.int(out.length)] ^= 0x80;
  }
  return out;
}

/** Every prefix of every corpus item no longer than `maxLen` (the exhaustive truncation phase). */
export function truncationPlan(corpus, mode, maxLen, every = 1) {
  const items = corpus.filter((c) => c.bytes.length <= maxLen && (mode === 'code' ? c.kind === 'data' : c.kind === 'data' || c.kind === 'code'))
    .filter((_, i) => i % every === 0);
  const plan = [];
  for (const item of items) plan.push([item, item.bytes.length]);
  const total = plan.reduce((s, [, n]) => s + n, 0);
  return {
    total,
    at(i) {
      let k = i;
      for (const [item, n] of plan) {
        if (k < n) return { item, length: k };
        k -= n;
      }
      return null;
    },
  };
}

// ---------------------------------------------------------------------------------- the guarded load

const { getOwnPropertyDescriptor, getPrototypeOf } = Object;
const { ownKeys } = Reflect;
const { isMap, isSet } = (await import('node:util')).types;
const MapEntries = Function.prototype.call.bind(Map.prototype.entries);
const SetValues = Function.prototype.call.bind(Set.prototype.values);
const INTRINSICS = new Set(GUARDED.map(([, o]) => o));

/** Every prototype of the realm's built-in constructors (loaded objects may have them; they are not data). */
const REALM_PROTOTYPES = (() => {
  const out = new Set(INTRINSICS);
  for (const k of ownKeys(globalThis)) {
    const d = getOwnPropertyDescriptor(globalThis, k);
    const v = d && 'value' in d ? d.value : undefined;
    if (typeof v === 'function') {
      const p = getOwnPropertyDescriptor(v, 'prototype');
      if (p && p.value !== null && typeof p.value === 'object') for (let x = p.value; x !== null; x = getPrototypeOf(x)) out.add(x);
    }
  }
  for (const x of [Buffer.prototype, getPrototypeOf(Uint8Array.prototype), getPrototypeOf([][Symbol.iterator]())]) out.add(x);
  return out;
})();

const FunctionToString = Function.prototype.call.bind(Function.prototype.toString);
const isNative = (f) => { try { return /\{\s*\[native code\]\s*\}$/.test(FunctionToString(f)); } catch { return false; } };

/**
 * Functions made from the payload and the realm's own built-in objects (violations), and built-in functions
 * (inherent: a rebuilt `arguments` object has %ThrowTypeError% and Array.prototype.values as own properties)
 * reachable from a loaded value's own data.
 */
function inspectLoaded(v, limit = 5000) {
  const out = { functions: 0, intrinsics: 0, builtinFunctions: 0 };
  const seen = new Set();
  const stack = [v];
  while (stack.length !== 0 && seen.size < limit) {
    const x = stack.pop();
    if (typeof x === 'function') { if (isNative(x)) out.builtinFunctions++; else out.functions++; continue; }
    if (x === null || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    if (INTRINSICS.has(x)) { out.intrinsics++; continue; }
    for (const k of ownKeys(x)) {
      const d = getOwnPropertyDescriptor(x, k);
      if (d === undefined) continue;
      if ('value' in d) stack.push(d.value);
      else { if (d.get !== undefined) stack.push(d.get); if (d.set !== undefined) stack.push(d.set); }
    }
    if (isMap(x)) for (const [k, val] of MapEntries(x)) stack.push(k, val);
    else if (isSet(x)) for (const val of SetValues(x)) stack.push(val);
    const proto = getPrototypeOf(x);
    if (proto !== null && !REALM_PROTOTYPES.has(proto)) stack.push(proto);
  }
  return out;
}

/**
 * Installs the tripwires once per worker. `heavy` adds setters for common shape keys (a, b, k, x), which also
 * sends those keys down the unpickler's define path.
 */
export function installGuards({ heavy = false, warmUp } = {}) {
  // What pikala does once per process (its registry of built-ins reads Node's lazy globals, which replaces their
  // getters with values) happens before the snapshot, so it is not taken for pollution by a load.
  warmUp?.();
  const log = { armed: false, calls: [] };
  const keys = ['toJSON', 'then', 'polluted', 'isAdmin', Symbol.toPrimitive];
  if (heavy) keys.push('a', 'b', 'k', 'x');
  installAccessorTraps(Object.prototype, keys, log, 'Object.prototype');
  const codeLog = { armed: false, calls: [] };
  const code = installCodeTraps(codeLog);
  Error.prepareStackTrace = (error, frames) => {
    if (log.armed) log.calls.push('Error.prepareStackTrace');
    return `${error?.name}: ${error?.message}\n${frames.map((f) => `    at ${f}`).join('\n')}`;
  };
  let realm = snapshotRealm();
  let print = quickRealmPrint();
  return {
    log,
    codeLog,
    code,
    /** Loads with every tripwire armed; returns a classified result. */
    load(loads, bytes, options) {
      log.calls.length = 0;
      codeLog.calls.length = 0;
      const mark = code.mark();
      let outcome;
      let error;
      let value;
      const t0 = process.hrtime.bigint();
      log.armed = true;
      codeLog.armed = true;
      try {
        value = loads(bytes, options);
        outcome = 'ok';
      } catch (e) {
        error = e;
      } finally {
        log.armed = false;
        codeLog.armed = false;
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (error !== undefined) {
        if (error?.name === 'PikalaError' && typeof error.code === 'string') {
          outcome = error.code;
        } else {
          outcome = 'foreign';
        }
      }
      const result = { outcome, ms, accessor: log.calls.slice(), compiles: codeLog.calls.slice(), modules: code.loadedSince(mark) };
      if (outcome === 'foreign') result.detail = `${error?.name}: ${String(error?.message).slice(0, 160)}`;
      else if (error !== undefined && error.cause !== undefined && error.cause?.name !== 'PikalaError') {
        result.masked = `${error.cause?.name}: ${String(error.cause?.message).replace(/\d+/g, 'N').slice(0, 120)}`;
      }
      if (outcome === 'ok' && options.allowCode === false) Object.assign(result, inspectLoaded(value));
      const now = quickRealmPrint();
      if (now !== print) {
        result.pollution = realmChanges(realm);
        realm = snapshotRealm();
        print = now;
      }
      return result;
    },
    /** Full comparison of the realm with the snapshot (slower; run every few hundred cases); reports once. */
    fullCheck() {
      const changes = realmChanges(realm);
      if (changes.length !== 0) { realm = snapshotRealm(); print = quickRealmPrint(); }
      return changes;
    },
  };
}
