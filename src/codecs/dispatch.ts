/**
 * Which codec handles an object that is neither a plain record nor a plain array. Brand checks come from
 * `util.types` and native getters, never from `instanceof` or `Symbol.toStringTag`, which user code controls.
 */
import { Buffer } from 'node:buffer';
import { Kind, KIND_COUNT } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import {
  ObjectGetPrototypeOf, ArrayIsArray, ObjectGetOwnPropertyDescriptor, isArgumentsObject, isArrayBuffer,
  isBigIntObject, isBooleanObject, isDataView, isDate, isExternal, isFinalizationRegistry, isGeneratorObject,
  isMap, isMapIterator, isModuleNamespaceObject, isNativeError, isNumberObject, isPromise, isRegExp, isSet,
  isProxy, isSetIterator, isSharedArrayBuffer, isStringObject, isSymbolObject, isTypedArray, isWeakMap, isWeakRef,
  isWeakSet,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { maps } from '../util/natives.js';
import { prototypeOwner } from '../util/prototypes.js';
import { ArrayCodec } from './arrays.js';
import { ArrayBufferCodec, DataViewCodec, SharedArrayBufferCodec, TypedArrayCodec } from './binary.js';
import { BoxedBigIntCodec, BoxedBooleanCodec, BoxedNumberCodec, BoxedStringCodec, BoxedSymbolCodec } from './boxed.js';
import { MapCodec, SetCodec } from './collections.js';
import { DateCodec, RegExpCodec, URLCodec, URLSearchParamsCodec, isURL, isURLSearchParams } from './dates.js';
import { ErrorCodec } from './errors.js';
import { ArgumentsCodec, OrdinaryCodec } from './objects.js';
import { WeakMapCodec, WeakSetCodec } from './weak.js';

/** Codecs by Kind, for the decoder. Kind.Instance is filled in by the class layer. */
export const CODECS: (ObjectCodec | undefined)[] = new Array(KIND_COUNT).fill(undefined);
for (const c of [OrdinaryCodec, ArrayCodec, MapCodec, SetCodec, DateCodec, RegExpCodec, ErrorCodec, ArrayBufferCodec,
  SharedArrayBufferCodec, TypedArrayCodec, DataViewCodec, BoxedNumberCodec, BoxedStringCodec, BoxedBooleanCodec,
  BoxedBigIntCodec, BoxedSymbolCodec, URLCodec, URLSearchParamsCodec, ArgumentsCodec, WeakMapCodec, WeakSetCodec] as ObjectCodec[]) {
  CODECS[c.kind] = c;
}

/** Whether `proto` is on `o`'s prototype chain (no traps: the caller excluded proxies). */
function inherits(o: object, proto: object): boolean {
  for (let p = ObjectGetPrototypeOf(o); p !== null; p = ObjectGetPrototypeOf(p)) {
    if (p === proto) return true;
    if (isProxy(p)) return false;
  }
  return false;
}

// Brand checks that work by catching a TypeError are slow (V8 builds an error with a stack each time), so
// they run only for objects whose chain has the class's prototype.
const isWeakRefObject = (o: object) => inherits(o, WeakRef.prototype) && isWeakRef(o);
const isFinalizationRegistryObject = (o: object) => inherits(o, FinalizationRegistry.prototype) && isFinalizationRegistry(o);

const UNSUPPORTED: [(o: object) => boolean, string][] = [
  [isWeakRefObject, 'a WeakRef cannot be serialized: it must not keep its target alive. Serialize the target itself'],
  [isFinalizationRegistryObject, 'a FinalizationRegistry cannot be serialized: it watches objects of this process'],
  [isPromise, 'a Promise cannot be serialized: it is a pending computation. Await it and serialize the result'],
  [isGeneratorObject, 'a generator object cannot be serialized: its suspended execution state is not reachable. ' +
    'Serialize the generator function and the data it needs instead'],
  [isMapIterator, 'a Map iterator cannot be serialized; serialize the Map, or Array.from(iterator)'],
  [isSetIterator, 'a Set iterator cannot be serialized; serialize the Set, or Array.from(iterator)'],
  [isModuleNamespaceObject, 'a module namespace object cannot be serialized by value here'],
  [isExternal, 'a native handle (v8::External) cannot be serialized: it points into native memory'],
];

/**
 * The codec for `o`, whose prototype is `proto`. Throws PIKALA_UNSUPPORTED with the path for what cannot
 * travel. Objects whose prototype belongs to a constructor (class instances) are checked by the code layer,
 * which may substitute a codec that restores class-private state.
 */
export function classifyObject(p: Pickler, o: object, proto: object | null, _asDependency = false): ObjectCodec<object> | null {
  const special = p.hooks.specialCodec?.(p, o);
  if (special !== undefined) return special;
  let brand: ObjectCodec<object>;
  if (proto === p.ordinaryProto && maps !== null && maps.sameMap(o, p.ordinaryRef)) {
    brand = OrdinaryCodec; // what ~25 brand checks would say (see Pickler.ordinaryRef)
  } else {
    brand = brandCodec(p, o);
    if (brand === OrdinaryCodec) {
      p.ordinaryRef = o;
      p.ordinaryProto = proto;
    }
  }
  // Only a prototype that belongs to a constructor (a class's, a function's) makes `o` an instance.
  if (proto === null || proto === brand.defaultProto(o) || prototypeOwner(proto) === undefined) return brand;
  // A constructor's own prototype object (util.inherits(Old, EventEmitter)) is structure, not an instance.
  if (isConstructorPrototype(o)) return brand;
  // A Node Buffer is a Uint8Array with Buffer.prototype: plain data, which the typed-array codec restores as a
  // Buffer (its prototype travels by reference) — not an instance of one of Node's resource classes.
  if (brand === TypedArrayCodec && proto === BufferPrototype) return brand;
  const chosen = p.hooks.instanceCodec?.(p, o, proto, brand);
  if (chosen === undefined || chosen === false) {
    p.fail('PIKALA_UNSUPPORTED', `an instance of ${constructorName(proto) || 'an anonymous class'} cannot be serialized here`);
  }
  return chosen;
}

function brandCodec(p: Pickler, o: object): ObjectCodec<object> {
  if (ArrayIsArray(o)) return ArrayCodec as ObjectCodec<object>;
  if (isDate(o)) return DateCodec;
  if (isMap(o)) return MapCodec;
  if (isSet(o)) return SetCodec;
  if (isRegExp(o)) return RegExpCodec;
  if (isTypedArray(o)) return TypedArrayCodec;
  if (isArrayBuffer(o)) return ArrayBufferCodec;
  if (isSharedArrayBuffer(o)) return SharedArrayBufferCodec;
  if (isDataView(o)) return DataViewCodec;
  if (isNativeError(o)) return ErrorCodec;
  if (isNumberObject(o)) return BoxedNumberCodec;
  if (isStringObject(o)) return BoxedStringCodec;
  if (isBooleanObject(o)) return BoxedBooleanCodec;
  if (isBigIntObject(o)) return BoxedBigIntCodec;
  if (isSymbolObject(o)) return BoxedSymbolCodec;
  if (isArgumentsObject(o)) return ArgumentsCodec;
  if (isWeakMap(o)) return WeakMapCodec;
  if (isWeakSet(o)) return WeakSetCodec;
  for (const [test, message] of UNSUPPORTED) if (test(o)) p.fail('PIKALA_UNSUPPORTED', message);
  if (inherits(o, URL.prototype) && isURL(o)) return URLCodec;
  if (inherits(o, URLSearchParams.prototype) && isURLSearchParams(o)) return URLSearchParamsCodec;
  return OrdinaryCodec;
}

const BufferPrototype: object = Buffer.prototype;

/** `o` is the `prototype` of the function its own `constructor` property names. */
function isConstructorPrototype(o: object): boolean {
  const d = ObjectGetOwnPropertyDescriptor(o, 'constructor');
  if (d === undefined || typeof d.value !== 'function') return false;
  return ObjectGetOwnPropertyDescriptor(d.value, 'prototype')?.value === o;
}

/** The class name for messages, from the `name` data property only (a static `name` getter is user code). */
function constructorName(proto: object): string {
  const ctor = ObjectGetOwnPropertyDescriptor(proto, 'constructor')!.value as object;
  const d = ObjectGetOwnPropertyDescriptor(ctor, 'name');
  return d !== undefined && typeof d.value === 'string' ? d.value : '';
}

export { Kind };
