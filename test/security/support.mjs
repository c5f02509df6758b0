/**
 * Shared tools of the security suites and the fuzzer: a tiny payload assembler (so tests can hand-craft the
 * bytes an attacker would send), realm snapshots (prototype pollution), and tripwires that record every
 * compile, module load, getter/setter call and reader access a load makes.
 *
 * The assembler mirrors the wire format (src/format/tags.ts, src/codecs/*). `format.test.mjs` checks it against
 * real dumps output, so when the format changes that test fails first and points here.
 */
import vm from 'node:vm';
import { createRequire } from 'node:module';

// ------------------------------------------------------------------------------------------ wire format

export const TAG = Object.freeze({
  Undefined: 0x40, Null: 0x41, False: 0x42, True: 0x43, Int: 0x44, Float64: 0x45, NaN: 0x46, BigInt64: 0x47,
  BigInt: 0x48, StrLatin1: 0x49, StrUtf8: 0x4a, StrUtf16: 0x4b, StrRef: 0x4c, StrEmpty: 0x4d, SymbolUnique: 0x4e,
  SymbolRegistered: 0x4f, SymbolWellKnown: 0x50, Ref: 0x51, Define: 0x52, Fill: 0x53, Bytes: 0x54, End: 0x55,
  Hole: 0x56, ObjShape: 0x57, Array: 0x58, Object: 0x59, Builtin: 0x5a, Code: 0x5b, StrLatin1Short: 0x80, StrRefShort: 0xc0,
});

export const KIND = Object.freeze({
  Ordinary: 0, Array: 1, Map: 2, Set: 3, Date: 4, RegExp: 5, Error: 6, ArrayBuffer: 7, SharedArrayBuffer: 8,
  TypedArray: 9, DataView: 10, BoxedNumber: 11, BoxedString: 12, BoxedBoolean: 13, BoxedBigInt: 14,
  BoxedSymbol: 15, URL: 16, URLSearchParams: 17, Arguments: 18, Instance: 19, Function: 20, Scope: 21, Bound: 22,
  ModuleRef: 23, Class: 24, ClassPrototype: 25,
});

/** Header flags (src/format/header.ts) and the offset of the flags byte. */
export const FLAG = Object.freeze({ Signed: 1, HasCode: 2 });
export const FLAGS_OFFSET = 6;
export const SIGNATURE_LENGTH = 32;

/** Unsigned LEB128 (any safe integer, or larger numbers as long as they fit 8 groups). */
export function varint(n) {
  const out = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Six bytes little-endian (buffer lengths and view offsets). */
export function u48(n) {
  const out = [];
  let v = n;
  for (let i = 0; i < 6; i++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

/**
 * A string value as the writer encodes it: latin1 when every code unit fits a byte (up to 64 bytes with the
 * length in the tag); otherwise, up to 42 code
 * units, UTF-16 unless UTF-8 is strictly smaller (and well-formed); longer, UTF-8 unless it holds a lone surrogate.
 */
export function str(s) {
  if (s.length === 0) return [TAG.StrEmpty];
  if (/^[\0-\xff]*$/.test(s)) {
    const bytes = [...Buffer.from(s, 'latin1')];
    return s.length <= 64 ? [TAG.StrLatin1Short - 1 + s.length, ...bytes] : [TAG.StrLatin1, ...varint(s.length), ...bytes];
  }
  const b = Buffer.from(s, 'utf8');
  const wellFormed = s.isWellFormed();
  if (!wellFormed || (s.length <= 42 && 2 * s.length <= b.length)) {
    return [TAG.StrUtf16, ...varint(s.length), ...Buffer.from(s, 'utf16le')];
  }
  return [TAG.StrUtf8, ...varint(b.length), ...b];
}

/**
 * A reference to the string `d` strings back in the string window (src/format/string-table.ts): every string
 * record (literal or reference) pushes its string, and `StrRef d` is the string pushed d pushes ago.
 */
export function strRef(d = 1) {
  if (typeof d !== 'number' || d < 1) throw new TypeError('strRef takes a distance ≥ 1');
  return d <= 64 ? [TAG.StrRefShort - 1 + d] : [TAG.StrRef, ...varint(d)];
}

/** Small integers 0–63 are their own tag; others are zigzag varints. */
export function int(n) {
  if (n >= 0 && n < 0x40) return [n];
  return [TAG.Int, ...varint(n >= 0 ? n * 2 : -n * 2 - 1)];
}

/** A plain-record shape: `keys` defined here (new shape), then the values (each an array of bytes). */
export function shapeNew(keys, values) {
  return [TAG.ObjShape, 0, ...varint(keys.length), ...keys.flatMap(str), ...values.flat()];
}

/** A record of an already defined shape (ids count from 1 in definition order). */
export function shapeUse(id, values) {
  return [TAG.ObjShape, ...varint(id), ...values.flat()];
}

/** A plain array of `items` (each an array of bytes). */
export function array(items) {
  return [TAG.Array, ...varint(items.length), ...items.flat()];
}

/**
 * A generic property list (the fill of most Object records): integrity, no content values, then
 * `props` as [key bytes, value bytes, attr = 7].
 */
export function plainFill(props = [], integrity = 0) {
  return [integrity, 0, ...varint(props.length), ...props.flatMap(([k, _v, attr = 7]) => [attr, ...k]),
    ...props.flatMap(([_k, v]) => v)];
}

/** A generic Object record of `kind`; `proto` (bytes of a Ref/Builtin) sets the explicit-prototype flag. */
export function record(kind, create = [], fill = plainFill(), { proto, nullProto = false } = {}) {
  const flags = (proto !== undefined ? 2 : 0) | (nullProto ? 4 : 0);
  return [TAG.Object, kind, flags, ...(proto ?? []), ...create, ...fill];
}

/** A built-in object of the receiving realm by path (`Object.prototype`, `Math.max`, `node:fs.readFileSync`). */
export function builtin(path) {
  return [TAG.Builtin, ...str(path)];
}

/** A reference to the n-th object of the memo (objects, arrays and symbols count, in creation order). */
export function ref(n) {
  return [TAG.Ref, ...varint(n)];
}

/** A header with an empty producer text. */
export function header({ flags = 0, major = 2, minor = 0 } = {}) {
  return [0x50, 0x4b, 0x4c, 0x41, major, minor, flags, 0];
}

/** A whole payload: header, the body bytes, End. */
export function payload(body, options) {
  return Uint8Array.from([...header(options), ...body, TAG.End]);
}

/** Where the body of a real payload starts (after the producer text). */
export function bodyStart(bytes) {
  let n = 0, shift = 0, p = 7;
  for (;;) {
    const b = bytes[p++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) break;
  }
  return p + n;
}

/** The body of a real payload (between header and End; unsigned payloads only). */
export function bodyOf(bytes) {
  return Array.from(bytes.subarray(bodyStart(bytes), bytes.length - 1));
}

/** A copy of `bytes` with `f(copy)` applied. */
export function tamper(bytes, f) {
  const copy = Uint8Array.from(bytes);
  f(copy);
  return copy;
}

/**
 * A code payload whose first code unit gets `prefix` inserted at the start of its source text (the unit is
 * evaluated with vm.Script at load, so `prefix` runs then). Models an attacker who edits shipped code.
 * Keeps the header (flags) and, for signed payloads, the original trailer (which then no longer matches).
 */
export function injectIntoPrologue(bytes, prefix) {
  const signed = (bytes[FLAGS_OFFSET] & FLAG.Signed) !== 0;
  const end = signed ? bytes.length - SIGNATURE_LENGTH : bytes.length;
  let p = bodyStart(bytes);
  if (bytes[p] !== TAG.Code) throw new Error('not a code payload');
  p++;
  const readVarint = () => {
    let n = 0, shift = 0;
    for (;;) {
      const b = bytes[p++];
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return n;
    }
  };
  readVarint(); // number of units
  const unitAt = p;
  const tag = bytes[p++];
  if (tag !== TAG.StrLatin1 && tag !== TAG.StrUtf8) throw new Error(`unexpected unit string tag ${tag}`);
  const n = readVarint();
  const text = Buffer.from(bytes.subarray(p, p + n)).toString(tag === TAG.StrLatin1 ? 'latin1' : 'utf8');
  const open = text.indexOf('(');
  if (open < 0) throw new Error('unexpected unit text');
  // `(function $pkL0() {…})` → `(PREFIX, function $pkL0() {…})`: the prefix runs when the unit is evaluated.
  // The prologue is padded to 8-byte alignment: pad the edit with spaces so the body keeps its alignment.
  const oldLength = p + n - unitAt;
  let pad = '';
  let unit;
  for (;;) {
    unit = str(`(${prefix}, ${pad}${text.slice(open + 1)}`);
    if ((unit.length - oldLength) % 8 === 0) break;
    pad += ' ';
  }
  return Uint8Array.from([...bytes.subarray(0, unitAt), ...unit, ...bytes.subarray(p + n, end),
    ...(signed ? bytes.subarray(end) : [])]);
}

// ------------------------------------------------------------------------------------------ the realm

/** Objects whose own properties a load must never change. */
export const GUARDED = [
  ['Object.prototype', Object.prototype], ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype], ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype], ['Boolean.prototype', Boolean.prototype],
  ['Symbol.prototype', Symbol.prototype], ['BigInt.prototype', BigInt.prototype],
  ['Map.prototype', Map.prototype], ['Set.prototype', Set.prototype], ['Date.prototype', Date.prototype],
  ['RegExp.prototype', RegExp.prototype], ['Error.prototype', Error.prototype],
  ['Promise.prototype', Promise.prototype], ['ArrayBuffer.prototype', ArrayBuffer.prototype],
  ['%TypedArray%.prototype', Object.getPrototypeOf(Uint8Array.prototype)],
  ['Uint8Array.prototype', Uint8Array.prototype], ['Buffer.prototype', Buffer.prototype],
  ['Object', Object], ['Array', Array], ['Function', Function], ['JSON', JSON], ['Math', Math],
  ['Reflect', Reflect], ['globalThis', globalThis],
];

const { getOwnPropertyDescriptor, getPrototypeOf, isExtensible } = Object;
const { ownKeys } = Reflect;

/** Own keys, descriptors, prototype and extensibility of every guarded object (reads no getter). */
export function snapshotRealm() {
  return GUARDED.map(([name, o]) => {
    const props = new Map();
    for (const k of ownKeys(o)) {
      const d = getOwnPropertyDescriptor(o, k);
      props.set(k, d);
    }
    return { name, o, proto: getPrototypeOf(o), extensible: isExtensible(o), props };
  });
}

/** What changed since `snap`, as readable lines (empty: nothing). */
export function realmChanges(snap) {
  const out = [];
  for (const { name, o, proto, extensible, props } of snap) {
    if (getPrototypeOf(o) !== proto) out.push(`${name}: prototype changed`);
    if (isExtensible(o) !== extensible) out.push(`${name}: extensibility changed`);
    const keys = ownKeys(o);
    for (const k of keys) {
      const before = props.get(k);
      const now = getOwnPropertyDescriptor(o, k);
      if (before === undefined) { out.push(`${name}: new property ${String(k)}`); continue; }
      if (before.value !== now.value && !(Number.isNaN(before.value) && Number.isNaN(now.value))) out.push(`${name}.${String(k)}: value changed`);
      if (before.get !== now.get || before.set !== now.set) out.push(`${name}.${String(k)}: accessor changed`);
      if (before.writable !== now.writable || before.enumerable !== now.enumerable || before.configurable !== now.configurable) {
        out.push(`${name}.${String(k)}: attributes changed`);
      }
    }
    if (keys.length !== props.size) for (const k of props.keys()) if (!keys.includes(k)) out.push(`${name}: property ${String(k)} removed`);
  }
  return out;
}

/** A fast check for the fuzzer: own key counts, prototypes and extensibility of the guarded objects. */
export function quickRealmPrint() {
  let s = '';
  for (const [, o] of GUARDED) s += `${ownKeys(o).length}${isExtensible(o) ? 'e' : 'n'},`;
  return s + (getPrototypeOf(Object.prototype) === null ? '' : 'P');
}

// ------------------------------------------------------------------------------------------ tripwires

/**
 * Accessors on `target` for `keys` that record every call (get and set) while `armed`. Setters store nothing;
 * getters return undefined. `remove()` takes them away again.
 */
export function installAccessorTraps(target, keys, log, where = 'Object.prototype') {
  const installed = [];
  for (const key of keys) {
    if (Object.prototype.hasOwnProperty.call(target, key)) continue;
    Object.defineProperty(target, key, {
      configurable: true,
      enumerable: false,
      get() { if (log.armed) log.calls.push(`get ${where}[${String(key)}]`); return undefined; },
      set(_v) { if (log.armed) log.calls.push(`set ${where}[${String(key)}]`); },
    });
    installed.push(key);
  }
  return { remove: () => { for (const k of installed) delete target[k]; } };
}

/**
 * Records compiles (vm.Script, vm.compileFunction, the vm run* helpers, eval, Function) and module loads
 * (CommonJS require of any module, Node built-in modules loaded for the first time) while `log.armed`.
 * pikala reaches vm through its default export at call time, so wrapping the export object is enough.
 */
export function installCodeTraps(log) {
  const require = createRequire(import.meta.url);
  const Module = require('node:module');
  const saved = [];
  const wrap = (obj, key, label) => {
    const orig = obj[key];
    if (typeof orig !== 'function') return;
    const wrapped = new Proxy(orig, {
      apply(t, self, args) { if (log.armed) log.calls.push(label); return Reflect.apply(t, self, args); },
      construct(t, args, nt) { if (log.armed) log.calls.push(label); return Reflect.construct(t, args, nt === wrapped ? t : nt); },
    });
    obj[key] = wrapped;
    saved.push(() => { obj[key] = orig; });
  };
  for (const k of ['Script', 'compileFunction', 'runInThisContext', 'runInNewContext', 'runInContext', 'SourceTextModule']) {
    wrap(vm, k, `vm.${k}`);
  }
  wrap(globalThis, 'eval', 'eval');
  wrap(Module, '_load', 'require');
  const loadCount = () => process.moduleLoadList.length;
  return {
    /** Built-in modules loaded since `mark`. */
    mark: loadCount,
    loadedSince: (mark) => process.moduleLoadList.slice(mark).filter((m) => m.startsWith('NativeModule ')),
    remove: () => { for (const r of saved.reverse()) r(); },
  };
}

/**
 * Counts the ByteReader reads a load makes (every method of the reader pikala uses). pikala's modules are
 * shared with the test (same dist files), so patching the class prototype sees every read.
 */
export async function readerSpy(distRoot) {
  const { ByteReader } = await import(new URL('format/byte-reader.js', distRoot).href);
  const proto = ByteReader.prototype;
  const counter = { reads: 0, constructed: 0 };
  const saved = [];
  for (const k of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, k);
    if (k === 'constructor' || typeof d.value !== 'function') continue;
    const orig = d.value;
    proto[k] = function (...args) { counter.reads++; return orig.apply(this, args); };
    saved.push(() => { proto[k] = orig; });
  }
  return { counter, remove: () => { for (const r of saved) r(); } };
}
