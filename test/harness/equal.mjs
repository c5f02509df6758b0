/**
 * Strict structural equality for round-trip tests: `assertIsomorphic(loaded, original)`.
 *
 * `assert.deepStrictEqual` is far too lenient for a serializer (it ignores property attributes, integrity
 * levels, symbol identity, buffer sharing and reference structure) and it recurses. This helper is iterative
 * (a million-deep linked list is fine) and checks, for every pair of corresponding values:
 *  - primitives with Object.is (-0, NaN); symbols: registered by key, well-known by identity, unique ones by
 *    description and by a one-to-one correspondence (one symbol used twice must be one symbol after load);
 *  - reference structure: objects correspond one-to-one (a bijection), so shared references and cycles in the
 *    original are shared and cyclic in the loaded value, and nothing is shared that was not;
 *  - prototypes: built-in prototypes (and any built-in object) by identity, other prototypes structurally;
 *  - the brand (array, Map, Date, typed array type, Error, boxed primitive, URL...) and its internal data:
 *    Map/Set entries in order, Date time, RegExp source/flags, bytes, boxed value, URL href;
 *  - own keys in order (strings, array holes and symbols included) with full property descriptors, read with
 *    getOwnPropertyDescriptor so no accessor is ever called; extensible/sealed/frozen;
 *  - views: type, length, bytes, and buffer sharing (views that share a buffer share one after load, at the
 *    same relative offsets). A buffer reached only through views is not compared byte for byte, because pikala
 *    may ship only the range its views cover; a buffer that is itself in the graph is compared whole.
 * Never calls user code: brands and internal data are read with util.types and the built-in methods captured
 * below, before any test can replace them.
 */
import { AssertionError } from 'node:assert';
import { Buffer } from 'node:buffer';
import { types } from 'node:util';

const {
  isProxy, isDate, isRegExp, isMap, isSet, isWeakMap, isWeakSet, isPromise, isArrayBuffer, isSharedArrayBuffer,
  isTypedArray, isDataView, isNativeError, isNumberObject, isStringObject, isBooleanObject, isBigIntObject,
  isSymbolObject, isArgumentsObject, isAsyncFunction, isGeneratorFunction,
} = types;

const call = Function.prototype.call;
const uncurry = (fn) => call.bind(fn);
const getter = (proto, key) => uncurry(Object.getOwnPropertyDescriptor(proto, key).get);
const { getOwnPropertyDescriptor, getPrototypeOf, isExtensible, isFrozen, isSealed } = Object;
const ownKeys = Reflect.ownKeys;
const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
const taTag = getter(TypedArrayProto, Symbol.toStringTag);
const taBuffer = getter(TypedArrayProto, 'buffer');
const taOffset = getter(TypedArrayProto, 'byteOffset');
const taByteLength = getter(TypedArrayProto, 'byteLength');
const taLength = getter(TypedArrayProto, 'length');
const dvBuffer = getter(DataView.prototype, 'buffer');
const dvOffset = getter(DataView.prototype, 'byteOffset');
const dvByteLength = getter(DataView.prototype, 'byteLength');
const abByteLength = getter(ArrayBuffer.prototype, 'byteLength');
const abResizable = getter(ArrayBuffer.prototype, 'resizable');
const abMax = getter(ArrayBuffer.prototype, 'maxByteLength');
const sabByteLength = getter(SharedArrayBuffer.prototype, 'byteLength');
const sabGrowable = getter(SharedArrayBuffer.prototype, 'growable');
const sabMax = getter(SharedArrayBuffer.prototype, 'maxByteLength');
const mapEntries = uncurry(Map.prototype.entries);
const mapSize = getter(Map.prototype, 'size');
const setValues = uncurry(Set.prototype.values);
const setSize = getter(Set.prototype, 'size');
const dateTime = uncurry(Date.prototype.getTime);
const reSource = getter(RegExp.prototype, 'source');
const reFlags = getter(RegExp.prototype, 'flags');
const urlHref = getter(URL.prototype, 'href');
const uspToString = uncurry(URLSearchParams.prototype.toString);
const numberValue = uncurry(Number.prototype.valueOf);
const stringValue = uncurry(String.prototype.valueOf);
const booleanValue = uncurry(Boolean.prototype.valueOf);
const bigintValue = uncurry(BigInt.prototype.valueOf);
const symbolValue = uncurry(Symbol.prototype.valueOf);
const symbolDescription = getter(Symbol.prototype, 'description');
const fnToString = uncurry(Function.prototype.toString);
const isPrototypeOf = uncurry(Object.prototype.isPrototypeOf);
const symbolKeyFor = Symbol.keyFor;
const bufferCompare = Buffer.compare;

const WELL_KNOWN = new Set(Object.getOwnPropertyNames(Symbol).map((n) => Symbol[n]).filter((s) => typeof s === 'symbol'));

/**
 * Built-in objects compared by identity: the globals, their prototypes and their own data-property objects
 * (two levels), plus a few intrinsics that have no global name.
 */
const INTRINSICS = (() => {
  const out = new Set();
  const isObj = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
  const add = (v, depth) => {
    if (!isObj(v) || out.has(v) || v === globalThis) return;
    out.add(v);
    if (depth === 0) return;
    for (const k of ownKeys(v)) {
      const d = getOwnPropertyDescriptor(v, k);
      if (d && 'value' in d) add(d.value, depth - 1);
    }
  };
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    const d = getOwnPropertyDescriptor(globalThis, name);
    if (d && 'value' in d) add(d.value, 2);
  }
  add(Buffer, 1); // globalThis.Buffer is an accessor in Node 20, so the walk above misses it
  add(TypedArrayProto, 1);
  add(getPrototypeOf(Uint8Array), 1);
  add(getPrototypeOf(function* () {}), 1);
  add(getPrototypeOf(async function () {}), 1);
  add(getPrototypeOf([][Symbol.iterator]()), 1);
  add(getOwnPropertyDescriptor(Function.prototype, 'caller')?.get, 0); // %ThrowTypeError% (arguments.callee)
  return out;
})();

/** The brand of an object: what kind of internal slots it has. Never consults user-controlled properties. */
export function brandOf(o) {
  if (typeof o === 'function') return isAsyncFunction(o) ? 'AsyncFunction' : isGeneratorFunction(o) ? 'GeneratorFunction' : 'Function';
  if (isProxy(o)) return 'Proxy';
  if (Array.isArray(o)) return 'Array';
  if (isTypedArray(o)) return taTag(o);
  if (isArrayBuffer(o)) return 'ArrayBuffer';
  if (isSharedArrayBuffer(o)) return 'SharedArrayBuffer';
  if (isDataView(o)) return 'DataView';
  if (isDate(o)) return 'Date';
  if (isRegExp(o)) return 'RegExp';
  if (isMap(o)) return 'Map';
  if (isSet(o)) return 'Set';
  if (isNativeError(o)) return 'Error';
  if (isNumberObject(o)) return 'Number';
  if (isStringObject(o)) return 'String';
  if (isBooleanObject(o)) return 'Boolean';
  if (isBigIntObject(o)) return 'BigInt';
  if (isSymbolObject(o)) return 'Symbol';
  if (isArgumentsObject(o)) return 'Arguments';
  if (isWeakMap(o)) return 'WeakMap';
  if (isWeakSet(o)) return 'WeakSet';
  if (isPromise(o)) return 'Promise';
  // URL brands can only be tested by calling a getter that throws on other objects, and V8 formats that
  // TypeError by walking the receiver's prototype chain: slow, and quadratic over a long chain of objects.
  // So only objects that inherit from URL.prototype / URLSearchParams.prototype are tested (a URL whose
  // prototype was swapped for an unrelated one would be compared as an ordinary object).
  if (isPrototypeOf(URL.prototype, o)) { try { urlHref(o); return 'URL'; } catch { /* not a URL */ } }
  if (isPrototypeOf(URLSearchParams.prototype, o)) { try { uspToString(o); return 'URLSearchParams'; } catch { /* not one */ } }
  return 'Object';
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
/** A path segment: property keys are formatted lazily (only when a difference is reported). */
function segment(key) {
  if (typeof key === 'object') return key.seg;
  if (typeof key === 'symbol') return `[${String(key)}]`;
  if (/^(?:0|[1-9]\d*)$/.test(key)) return `[${key}]`;
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
const lit = (seg) => ({ seg });
const ROOT = lit('root');

function pathOf(parent, key) {
  const parts = [segment(key)];
  for (let n = parent; n !== null; n = n.parent) parts.push(segment(n.key));
  parts.reverse();
  if (parts.length > 40) return `${parts.slice(0, 10).join('')}…(${parts.length - 30} segments)…${parts.slice(-20).join('')}`;
  return parts.join('');
}

function show(v) {
  switch (typeof v) {
    case 'string': return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v) + (v.length > 60 ? ` (length ${v.length})` : '');
    case 'bigint': return `${v}n`;
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'symbol': return String(v);
    case 'function': return `[function ${getOwnPropertyDescriptor(v, 'name')?.value ?? ''}]`;
    case 'object': return v === null ? 'null' : `[${brandOf(v)}]`;
    default: return String(v);
  }
}

function bytesOf(buffer, offset, length) {
  return new Uint8Array(buffer, offset, length);
}

class Mismatch extends Error {}

/**
 * The first difference between `actual` and `expected` as a message naming its path (`root.a[3].get(#0)`),
 * or null when they are isomorphic.
 * Options: `fresh` — also require that no object of `actual` is an object of `expected` (built-ins aside):
 * an in-process round trip must build new objects, not hand back the originals.
 */
export function isomorphismError(actual, expected, { fresh = false } = {}) {
  const ab = new Map();   // expected object/symbol -> actual
  const ba = new Map();   // actual -> expected
  const bufferDelta = new Map(); // expected buffer -> (actual view byteOffset - expected view byteOffset)
  const buffersCompared = new Set();
  // The work stack, as parallel arrays: actual, expected, parent path node, key (the last path segment).
  const xs = [actual], ys = [expected], parents = [null], keys = [ROOT];
  let parent = null, key = ROOT; // where the pair being compared sits
  const fail = (message) => { throw new Mismatch(`at ${pathOf(parent, key)}: ${message}`); };
  const push = (x, y, p, k) => { xs.push(x); ys.push(y); parents.push(p); keys.push(k); };
  /** Runs `f` as if comparing the child `k` of the current pair (for path messages). */
  const at = (k, f) => {
    const saved = parent, savedKey = key;
    parent = { parent, key }; key = k;
    try { f(); } finally { parent = saved; key = savedKey; }
  };

  /** Records that `y` (expected) corresponds to `x` (actual); false if that was already known. */
  const link = (x, y, what) => {
    const known = ab.get(y);
    if (known !== undefined) {
      if (known !== x) fail(`${what} is not the same ${what} as at an earlier place in the graph (a shared reference or cycle was lost)`);
      return false;
    }
    if (ba.has(x)) fail(`two different ${what}s of the original became one ${what} (a reference is shared that was not)`);
    if (fresh && x === y && !INTRINSICS.has(y)) fail(`the loaded ${what} is the original ${what} itself, not a copy`);
    ab.set(y, x);
    ba.set(x, y);
    return true;
  };

  const symbol = (x, y) => {
    if (typeof x !== 'symbol') fail(`expected ${show(y)}, found ${show(x)}`);
    const ky = symbolKeyFor(y), kx = symbolKeyFor(x);
    if (ky !== undefined || kx !== undefined) {
      if (kx !== ky) fail(`expected registered symbol ${show(y)} (key ${show(ky)}), found ${show(x)} (key ${show(kx)})`);
      return;
    }
    if (WELL_KNOWN.has(y) || WELL_KNOWN.has(x)) {
      if (x !== y) fail(`expected well-known ${show(y)}, found ${show(x)}`);
      return;
    }
    if (symbolDescription(x) !== symbolDescription(y)) fail(`expected ${show(y)}, found ${show(x)}`);
    link(x, y, 'symbol');
  };

  /** A view's buffer: the same correspondence as any object, plus one consistent offset shift per buffer. */
  const viewBuffer = (xb, yb, delta) => {
    link(xb, yb, 'buffer');
    const known = bufferDelta.get(yb);
    if (known === undefined) bufferDelta.set(yb, delta);
    else if (known !== delta) fail(`views of one buffer moved by different amounts (${known} and ${delta}): their relative offsets changed`);
  };

  /** A buffer that is itself in the graph: whole, and its views at their original offsets. False if seen. */
  const wholeBuffer = (x, y, brand) => {
    viewBuffer(x, y, 0);
    if (buffersCompared.has(y)) return false;
    buffersCompared.add(y);
    const shared = brand === 'SharedArrayBuffer';
    const lx = shared ? sabByteLength(x) : abByteLength(x), ly = shared ? sabByteLength(y) : abByteLength(y);
    if (lx !== ly) fail(`byteLength ${lx}, expected ${ly}`);
    const rx = shared ? sabGrowable(x) : abResizable(x), ry = shared ? sabGrowable(y) : abResizable(y);
    if (rx !== ry) fail(`resizable/growable ${rx}, expected ${ry}`);
    if (ry) {
      const mx = shared ? sabMax(x) : abMax(x), my = shared ? sabMax(y) : abMax(y);
      if (mx !== my) fail(`maxByteLength ${mx}, expected ${my}`);
    }
    if (bufferCompare(bytesOf(x, 0, lx), bytesOf(y, 0, ly)) !== 0) fail('buffer bytes differ');
    return true;
  };

  const compareObject = (x, y) => {
    const brand = brandOf(y);
    const bx = brandOf(x);
    if (bx !== brand) fail(`expected a ${brand}, found a ${bx}`);
    if (brand === 'Proxy') fail('cannot compare a Proxy without running its traps');
    if (brand === 'ArrayBuffer' || brand === 'SharedArrayBuffer') {
      if (!wholeBuffer(x, y, brand)) return;
    } else if (!link(x, y, 'object')) {
      return;
    }
    if (INTRINSICS.has(y) || INTRINSICS.has(x)) {
      if (x !== y) fail(`expected the built-in ${show(y)} itself, found another object`);
      return;
    }
    const here = { parent, key }; // the parent path node of this object's children
    // Prototype: built-ins by identity, others as part of the graph.
    const py = getPrototypeOf(y), px = getPrototypeOf(x);
    if (py === null || INTRINSICS.has(py) || px === null || INTRINSICS.has(px)) {
      if (px !== py) fail(`prototype differs (expected ${py === null ? 'null' : describeProto(py)}, found ${px === null ? 'null' : describeProto(px)})`);
    }
    const ex = isExtensible(x), ey = isExtensible(y);
    if (ex !== ey) fail(`extensible ${ex}, expected ${ey}`);
    if (!ey) {
      if (isSealed(x) !== isSealed(y)) fail(`sealed ${isSealed(x)}, expected ${isSealed(y)}`);
      if (isFrozen(x) !== isFrozen(y)) fail(`frozen ${isFrozen(x)}, expected ${isFrozen(y)}`);
    }

    let skipIndices = 0;
    switch (brand) {
      case 'Object': case 'Array': break;
      case 'Date': {
        const tx = dateTime(x), ty = dateTime(y);
        if (!Object.is(tx, ty)) fail(`time ${tx}, expected ${ty}`);
        break;
      }
      case 'RegExp':
        if (reSource(x) !== reSource(y)) fail(`source ${show(reSource(x))}, expected ${show(reSource(y))}`);
        if (reFlags(x) !== reFlags(y)) fail(`flags ${show(reFlags(x))}, expected ${show(reFlags(y))}`);
        break;
      case 'Map': {
        if (mapSize(x) !== mapSize(y)) fail(`Map size ${mapSize(x)}, expected ${mapSize(y)}`);
        const mx = [...mapEntries(x)], my = [...mapEntries(y)];
        for (let i = my.length - 1; i >= 0; i--) {
          push(mx[i][1], my[i][1], here, lit(`.get(#${i})`));
          push(mx[i][0], my[i][0], here, lit(`.<key #${i}>`));
        }
        break;
      }
      case 'Set': {
        if (setSize(x) !== setSize(y)) fail(`Set size ${setSize(x)}, expected ${setSize(y)}`);
        const vx = [...setValues(x)], vy = [...setValues(y)];
        for (let i = vy.length - 1; i >= 0; i--) push(vx[i], vy[i], here, lit(`.<value #${i}>`));
        break;
      }
      case 'DataView': {
        const lx = dvByteLength(x), ly = dvByteLength(y);
        if (lx !== ly) fail(`DataView byteLength ${lx}, expected ${ly}`);
        if (bufferCompare(bytesOf(dvBuffer(x), dvOffset(x), lx), bytesOf(dvBuffer(y), dvOffset(y), ly)) !== 0) fail('DataView bytes differ');
        at(lit('.<buffer>'), () => viewBuffer(dvBuffer(x), dvBuffer(y), dvOffset(x) - dvOffset(y)));
        break;
      }
      case 'Number': if (!Object.is(numberValue(x), numberValue(y))) fail(`boxed ${show(numberValue(x))}, expected ${show(numberValue(y))}`); break;
      case 'String': if (stringValue(x) !== stringValue(y)) fail(`boxed ${show(stringValue(x))}, expected ${show(stringValue(y))}`); break;
      case 'Boolean': if (booleanValue(x) !== booleanValue(y)) fail(`boxed ${booleanValue(x)}, expected ${booleanValue(y)}`); break;
      case 'BigInt': if (bigintValue(x) !== bigintValue(y)) fail(`boxed ${bigintValue(x)}n, expected ${bigintValue(y)}n`); break;
      case 'Symbol': push(symbolValue(x), symbolValue(y), here, lit('.<boxed symbol>')); break;
      case 'URL': if (urlHref(x) !== urlHref(y)) fail(`href ${show(urlHref(x))}, expected ${show(urlHref(y))}`); break;
      case 'URLSearchParams': if (uspToString(x) !== uspToString(y)) fail(`params ${show(uspToString(x))}, expected ${show(uspToString(y))}`); break;
      case 'Function': case 'AsyncFunction': case 'GeneratorFunction':
        if (fnToString(x) !== fnToString(y)) fail(`function source differs: ${show(fnToString(x))}, expected ${show(fnToString(y))}`);
        break;
      case 'WeakMap': case 'WeakSet': case 'Promise':
        fail(`cannot compare a ${brand}`);
        break;
      default:
        if (isTypedArray(y)) {
          const lx = taLength(x), ly = taLength(y);
          if (lx !== ly) fail(`${brand} length ${lx}, expected ${ly}`);
          if (bufferCompare(bytesOf(taBuffer(x), taOffset(x), taByteLength(x)), bytesOf(taBuffer(y), taOffset(y), taByteLength(y))) !== 0) {
            fail(`${brand} elements differ`);
          }
          at(lit('.<buffer>'), () => viewBuffer(taBuffer(x), taBuffer(y), taOffset(x) - taOffset(y)));
          skipIndices = ly; // integer-indexed keys come first and are the elements compared above
        }
    }

    // Own properties, in order, with full descriptors (never calling an accessor). Pushed in reverse so the
    // first key is compared first.
    let kx = ownKeys(x), ky = ownKeys(y);
    if (skipIndices > 0) { kx = kx.slice(skipIndices); ky = ky.slice(skipIndices); }
    if (kx.length !== ky.length) fail(`own keys ${describeKeys(kx)}, expected ${describeKeys(ky)}`);
    for (let i = 0; i < ky.length; i++) {
      const k = ky[i], kk = kx[i];
      if (k === kk) continue;
      if (typeof k !== 'symbol' || typeof kk !== 'symbol') fail(`own keys ${describeKeys(kx)}, expected ${describeKeys(ky)}`);
      at(lit(`.<key ${String(k)}>`), () => symbol(kk, k));
    }
    for (let i = ky.length - 1; i >= 0; i--) {
      const k = ky[i];
      const dx = getOwnPropertyDescriptor(x, kx[i]), dy = getOwnPropertyDescriptor(y, k);
      if ('value' in dy) {
        if (!('value' in dx)) at(k, () => fail('expected a data property, found an accessor'));
        if (dx.writable !== dy.writable || dx.enumerable !== dy.enumerable || dx.configurable !== dy.configurable) {
          at(k, () => fail(`attributes ${attributes(dx)}, expected ${attributes(dy)}`));
        }
        // Also compared when the pair is popped; checked here too so the order of failures is stable.
        push(dx.value, dy.value, here, k);
      } else {
        if ('value' in dx) at(k, () => fail('expected an accessor property, found a data property'));
        if (dx.enumerable !== dy.enumerable || dx.configurable !== dy.configurable) {
          at(k, () => fail(`attributes ${attributes(dx)}, expected ${attributes(dy)}`));
        }
        push(dx.set, dy.set, here, lit(`${segment(k)}<set>`));
        push(dx.get, dy.get, here, lit(`${segment(k)}<get>`));
      }
    }
    if (!(py === null || INTRINSICS.has(py) || px === null || INTRINSICS.has(px))) push(px, py, here, lit('.<prototype>'));
  };

  try {
    while (xs.length !== 0) {
      const x = xs.pop(), y = ys.pop();
      parent = parents.pop();
      key = keys.pop();
      const t = typeof y;
      if (t === 'object' && y !== null || t === 'function') {
        if (typeof x !== t || x === null) fail(`expected ${show(y)}, found ${show(x)}`);
        compareObject(x, y);
      } else if (t === 'symbol') {
        symbol(x, y);
      } else if (x !== y && !(x !== x && y !== y)) {
        fail(`expected ${show(y)}, found ${show(x)}`);
      } else if (x === 0 && 1 / x !== 1 / y) {
        fail(`expected ${show(y)}, found ${show(x)}`);
      }
    }
  } catch (e) {
    if (e instanceof Mismatch) return e.message;
    throw e;
  }
  return null;
}

function attributes(d) {
  return ['writable', 'enumerable', 'configurable'].filter((a) => a in d).map((a) => `${a}:${d[a]}`).join(' ');
}

function describeProto(p) {
  const d = getOwnPropertyDescriptor(p, 'constructor');
  const name = d && typeof d.value === 'function' ? getOwnPropertyDescriptor(d.value, 'name')?.value : undefined;
  return typeof name === 'string' && name ? `${name}.prototype` : 'a custom prototype';
}

function describeKeys(keys) {
  const shown = keys.slice(0, 12).map((k) => (typeof k === 'symbol' ? String(k) : JSON.stringify(k))).join(', ');
  return `[${shown}${keys.length > 12 ? `, … ${keys.length} keys` : ''}]`;
}

/** Throws an AssertionError naming the first difference unless `actual` is isomorphic to `expected`. */
export function assertIsomorphic(actual, expected, message, options) {
  const error = isomorphismError(actual, expected, options);
  if (error !== null) {
    // actual/expected are left out on purpose: printing a million-deep graph would swamp the report.
    throw new AssertionError({ message: message ? `${message}: ${error}` : error, operator: 'isomorphic' });
  }
}
