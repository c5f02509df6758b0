/**
 * Built-ins captured when pikala loads, so that user code that replaces `Object.keys`, `Map.prototype.set`
 * or `Array.prototype.push` can neither break pikala nor be called by it (loads must never run user code).
 */
import { types } from 'node:util';
import { Buffer } from 'node:buffer';

const uncurry = <A extends unknown[], R>(fn: (this: any, ...args: A) => R) =>
  Function.prototype.call.bind(fn) as unknown as (self: unknown, ...args: A) => R;

export const ObjectPrototype = Object.prototype;
export const ArrayPrototype = Array.prototype;
export const FunctionPrototype = Function.prototype;
export const ObjectKeys = Object.keys;
export const ObjectCreate = Object.create;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectSetPrototypeOf = Object.setPrototypeOf;
export const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
export const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectIsExtensible = Object.isExtensible;
export const ObjectIsFrozen = Object.isFrozen;
export const ObjectIsSealed = Object.isSealed;
export const ObjectFreeze = Object.freeze;
export const ObjectSeal = Object.seal;
export const ObjectPreventExtensions = Object.preventExtensions;
export const ObjectHasOwn = Object.hasOwn;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ReflectConstruct = Reflect.construct;
export const ReflectApply = Reflect.apply;
export const ReflectDeleteProperty = Reflect.deleteProperty;
export const ArrayIsArray = Array.isArray;
export const NumberIsInteger = Number.isInteger;
export const SymbolFor = Symbol.for;
export const SymbolKeyFor = Symbol.keyFor;
export const StringFromCharCode = String.fromCharCode;
export const StringPrototypeIndexOf = uncurry(String.prototype.indexOf as (search: string, from?: number) => number);
export const StringPrototypeSlice = uncurry(String.prototype.slice as (start?: number, end?: number) => string);
export const StringPrototypeReplaceAll = uncurry(String.prototype.replaceAll as (search: string, replacement: string) => string);
export const DecodeURIComponent = decodeURIComponent;
export const StringPrototypeStartsWith = uncurry(String.prototype.startsWith as (search: string, at?: number) => boolean);
export const ArrayPrototypeIncludes = uncurry(Array.prototype.includes as (v: unknown) => boolean);
export const JSONParse = JSON.parse;
export const URLSearchParamsPrototypeAppend = uncurry(URLSearchParams.prototype.append as (name: string, value: string) => void);
export const BufferFrom = Buffer.from.bind(Buffer) as (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => Buffer;

export const MapPrototypeSet = uncurry(Map.prototype.set as (k: unknown, v: unknown) => Map<unknown, unknown>);
export const MapPrototypeGetSize = uncurry(ObjectGetOwnPropertyDescriptor(Map.prototype, 'size')!.get as () => number);
export const MapPrototypeEntries = uncurry(Map.prototype.entries as () => IterableIterator<[unknown, unknown]>);
export const SetPrototypeAdd = uncurry(Set.prototype.add as (v: unknown) => Set<unknown>);
export const SetPrototypeGetSize = uncurry(ObjectGetOwnPropertyDescriptor(Set.prototype, 'size')!.get as () => number);
export const SetPrototypeValues = uncurry(Set.prototype.values as () => IterableIterator<unknown>);
export const WeakMapPrototypeSet = uncurry(WeakMap.prototype.set as (k: WeakKey, v: unknown) => WeakMap<WeakKey, unknown>);
export const WeakSetPrototypeAdd = uncurry(WeakSet.prototype.add as (v: WeakKey) => WeakSet<WeakKey>);
export const WeakMapPrototypeHas = uncurry(WeakMap.prototype.has as (k: WeakKey) => boolean);
export const WeakMapPrototypeGet = uncurry(WeakMap.prototype.get as (k: WeakKey) => unknown);
export const WeakSetPrototypeHas = uncurry(WeakSet.prototype.has as (v: WeakKey) => boolean);
export const MapIteratorNext = uncurry(ObjectGetPrototypeOf(new Map().entries()).next as () => IteratorResult<[unknown, unknown]>);
export const SetIteratorNext = uncurry(ObjectGetPrototypeOf(new Set().values()).next as () => IteratorResult<unknown>);
export const DatePrototypeGetTime = uncurry(Date.prototype.getTime);
export const RegExpPrototypeExec = uncurry(RegExp.prototype.exec);
export const RegExpPrototypeGetSource = uncurry(ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'source')!.get as () => string);
export const RegExpPrototypeGetFlags = uncurry(ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'flags')!.get as () => string);
export const StringIsWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? uncurry((String.prototype as unknown as { isWellFormed: () => boolean }).isWellFormed)
    : (s: string) => !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype) as object;
export const TypedArrayPrototypeGetTag = uncurry(
  ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag)!.get as () => string | undefined);
export const TypedArrayPrototypeGetBuffer = uncurry(
  ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, 'buffer')!.get as () => ArrayBufferLike);
export const TypedArrayPrototypeGetByteOffset = uncurry(
  ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, 'byteOffset')!.get as () => number);
export const TypedArrayPrototypeGetByteLength = uncurry(
  ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, 'byteLength')!.get as () => number);
export const TypedArrayPrototypeGetLength = uncurry(
  ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, 'length')!.get as () => number);
export const DataViewPrototypeGetBuffer = uncurry(
  ObjectGetOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get as () => ArrayBufferLike);
export const DataViewPrototypeGetByteOffset = uncurry(
  ObjectGetOwnPropertyDescriptor(DataView.prototype, 'byteOffset')!.get as () => number);
export const DataViewPrototypeGetByteLength = uncurry(
  ObjectGetOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get as () => number);
export const ArrayBufferPrototypeGetByteLength = uncurry(
  ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get as () => number);
const abResizable = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable');
export const ArrayBufferPrototypeGetResizable: (ab: unknown) => boolean =
  abResizable?.get ? uncurry(abResizable.get as () => boolean) : () => false;
const abMax = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'maxByteLength');
export const ArrayBufferPrototypeGetMaxByteLength: (ab: unknown) => number =
  abMax?.get ? uncurry(abMax.get as () => number) : (ab) => ArrayBufferPrototypeGetByteLength(ab);
export const SharedArrayBufferPrototypeGetByteLength = uncurry(
  ObjectGetOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get as () => number);
const sabGrowable = ObjectGetOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'growable');
export const SharedArrayBufferPrototypeGetGrowable: (ab: unknown) => boolean =
  sabGrowable?.get ? uncurry(sabGrowable.get as () => boolean) : () => false;
const sabMax = ObjectGetOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'maxByteLength');
export const SharedArrayBufferPrototypeGetMaxByteLength: (ab: unknown) => number =
  sabMax?.get ? uncurry(sabMax.get as () => number) : (ab) => SharedArrayBufferPrototypeGetByteLength(ab);
export const NumberPrototypeValueOf = uncurry(Number.prototype.valueOf);
export const StringPrototypeValueOf = uncurry(String.prototype.valueOf);
export const BooleanPrototypeValueOf = uncurry(Boolean.prototype.valueOf);
export const BigIntPrototypeValueOf = uncurry(BigInt.prototype.valueOf);
export const SymbolPrototypeValueOf = uncurry(Symbol.prototype.valueOf);
export const SymbolPrototypeGetDescription = uncurry(
  ObjectGetOwnPropertyDescriptor(Symbol.prototype, 'description')!.get as () => string | undefined);
export const FunctionPrototypeToString = uncurry(Function.prototype.toString);
export const WeakRefPrototypeDeref = uncurry(WeakRef.prototype.deref);
export const FinalizationRegistryPrototypeUnregister = uncurry(
  FinalizationRegistry.prototype.unregister as (token: object) => boolean);

export const {
  isProxy, isDate, isRegExp, isMap, isSet, isWeakMap, isWeakSet, isPromise, isArrayBuffer, isSharedArrayBuffer,
  isTypedArray, isDataView, isNativeError, isBoxedPrimitive, isNumberObject, isStringObject, isBooleanObject,
  isBigIntObject, isSymbolObject, isGeneratorObject, isMapIterator, isSetIterator, isModuleNamespaceObject,
  isExternal, isArgumentsObject, isAsyncFunction, isGeneratorFunction,
} = types;

/** True when `o` has the WeakRef brand; calling the native `deref` runs no user code. */
export function isWeakRef(o: object): boolean {
  try { WeakRefPrototypeDeref(o); return true; } catch { return false; }
}

/** True when `o` has the FinalizationRegistry brand. */
export function isFinalizationRegistry(o: object): boolean {
  try { FinalizationRegistryPrototypeUnregister(o, {}); return true; } catch { return false; }
}

/** A function's own `name` data property, without calling a getter (a class may define `static get name`). */
export function functionName(fn: Function): string {
  const d = ObjectGetOwnPropertyDescriptor(fn, 'name');
  return d !== undefined && typeof d.value === 'string' ? d.value : '';
}

// Constructors and functions the loader calls, captured when pikala loads: a program (or a library that
// patches globals) replacing them later is never called by loads.
export const MapCtor = Map;
export const SetCtor = Set;
export const DateCtor = Date;
export const RegExpCtor = RegExp;
export const URLCtor = URL;
export const URLSearchParamsCtor = URLSearchParams;
export const ArrayBufferCtor = ArrayBuffer;
export const SharedArrayBufferCtor = SharedArrayBuffer;
export const DataViewCtor = DataView;
export const Uint8ArrayCtor = Uint8Array;
export const BigIntFn = BigInt;
export const SymbolFn = Symbol;
export const ObjectFn = Object;
export const WeakMapCtor = WeakMap;
export const WeakSetCtor = WeakSet;
export const NumberParseInt = Number.parseInt;
export const TypedArrayPrototypeSet = uncurry(
  (ObjectGetPrototypeOf(Uint8Array.prototype) as { set: (src: ArrayLike<number>, offset?: number) => void }).set);

/** A canonical array index ("0", "17", not "017" or "4294967295"), without RegExp (whose exec a program can replace). */
export function isArrayIndex(k: string): boolean {
  const n = k.length;
  if (n === 0 || n > 10) return false;
  const c0 = k.charCodeAt(0);
  if (c0 === 48) return n === 1;
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return +k < 4294967295;
}

/**
 * A Map and a Set whose methods are pikala's own copies of the originals (like Node's internal SafeMap):
 * `m.get(k)` finds SafeMap.prototype.get before Map.prototype.get, so a program that replaced the latter is
 * not called by pikala's own bookkeeping. Iterate them with forEach: a for-of would call the iterator's
 * `next`, which lives on a shared prototype.
 */
// Explicit constructors: the implicit one spreads its arguments, which calls the realm's array iterator.
export class SafeMap<K, V> extends Map<K, V> {
  constructor(entries?: Iterable<readonly [K, V]> | null) { super(entries); }
}
export class SafeSet<T> extends Set<T> {
  constructor(values?: Iterable<T> | null) { super(values); }
}
function copyMethods(from: object, to: object): void {
  for (const key of Reflect.ownKeys(from)) {
    if (key === 'constructor') continue;
    Object.defineProperty(to, key, Object.getOwnPropertyDescriptor(from, key)!);
  }
  Object.freeze(to);
}
copyMethods(Map.prototype, SafeMap.prototype);
copyMethods(Set.prototype, SafeSet.prototype);
