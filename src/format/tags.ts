/**
 * The wire format's vocabulary: one byte per record. `docs/FORMAT.md` describes each tag's layout.
 * To find where a value type is encoded, look up its tag here, then search the codecs for it.
 *
 * Tags 0x00–0x3F are the small non-negative integers 0–63 themselves (one byte per small number).
 */
export const FIXINT_LIMIT = 0x40;

export const enum Tag {
  // primitives
  Undefined = 0x40,
  Null = 0x41,
  False = 0x42,
  True = 0x43,
  Int = 0x44,          // zigzag varint, int32 range
  Float64 = 0x45,      // 8 bytes little-endian
  NaN = 0x46,          // one canonical NaN so output is deterministic
  BigInt64 = 0x47,     // 8 bytes little-endian two's complement
  BigInt = 0x48,       // sign byte, varint byte count, magnitude bytes little-endian
  StrLatin1 = 0x49,    // varint length, latin1 bytes; enters the string window
  StrUtf8 = 0x4a,      // varint byte length, UTF-8 bytes (well-formed text); enters the string window
  StrUtf16 = 0x4b,     // varint code-unit count, UTF-16LE code units (lone surrogates kept); enters the window
  StrRef = 0x4c,       // varint d: the string d strings back in the string window
  StrEmpty = 0x4d,
  SymbolUnique = 0x4e,     // description: Undefined or a string; enters the object memo
  SymbolRegistered = 0x4f, // key string (Symbol.for); enters the object memo
  SymbolWellKnown = 0x50,  // name string (`iterator` for Symbol.iterator); enters the object memo

  // graph structure
  Ref = 0x51,          // varint memo id: the same object (or symbol) written earlier
  Define = 0x52,       // an Object record created ahead of the value that needs it; the value follows
  Fill = 0x53,         // after the root: varint memo id, then that object's fill
  Bytes = 0x54,        // after the fills: varint memo id of an ArrayBuffer, padding, its bytes
  End = 0x55,
  Hole = 0x56,         // an array hole inside a holey element list

  // objects
  ObjShape = 0x57,     // varint shape id (0 = a new shape follows: varint count, key strings), then values
  Array = 0x58,        // varint length, then that many values (dense, default attributes)
  Object = 0x59,       // generic record: kind byte, flags, [proto], create payload, [fill]
  Builtin = 0x5a,      // a well-known object of the receiving realm, by path string

  // code
  Code = 0x5b,         // first tag of the body when the payload holds code: the code prologue

  // 0x5c–0x7f are free.
  // short strings: the tag holds the length or the distance (most strings are short; one byte less each)
  StrLatin1Short = 0x80, // 0x80–0xbf: latin1 string of 1–64 bytes (tag - 0x7f), the bytes follow; enters the window
  StrRefShort = 0xc0,    // 0xc0–0xff: StrRef of distance 1–64 (tag - 0xbf)
}

/** The longest latin1 string, and the farthest reference, that a one-byte tag holds. */
export const SHORT_STRING_MAX = 64;

/** Kinds of the generic Object record. */
/** The flags byte of an ArrayBuffer/SharedArrayBuffer record (codecs/binary.ts). */
export const enum BufferFlag {
  Resizable = 1,
  /** A u48 `at` follows the length: the payload offset of the bytes when a reader may map them in place, else 0. */
  HasAt = 2,
}

export const enum Kind {
  Ordinary = 0,
  Array = 1,
  Map = 2,
  Set = 3,
  Date = 4,
  RegExp = 5,
  Error = 6,
  ArrayBuffer = 7,
  SharedArrayBuffer = 8,
  TypedArray = 9,
  DataView = 10,
  BoxedNumber = 11,
  BoxedString = 12,
  BoxedBoolean = 13,
  BoxedBigInt = 14,
  BoxedSymbol = 15,
  URL = 16,
  URLSearchParams = 17,
  Arguments = 18,
  Instance = 19,       // an object restored through its by-value class (private fields, brand)
  Function = 20,       // a function made from a maker of the code prologue, in a scope environment
  Scope = 21,          // a scope environment (captured variables)
  Bound = 22,          // a bound function
  ModuleRef = 23,      // a module (or a member of one) by reference
  Class = 24,          // a class by value
  ClassPrototype = 25, // the prototype a by-value class made
  ClassMember = 26,    // an arrow field using #private names, made inside its class
  WeakMap = 27,        // entries whose keys are in the payload, in Fill records after the root
  WeakSet = 28,        // likewise
}
export const KIND_COUNT = 29;

/** Flags of the generic Object record. */
export const enum ObjFlag {
  Deferred = 1,     // the fill comes later, in a Fill record
  ExplicitProto = 2, // a prototype value follows the create payload
  NullProto = 4,
}

/** Property attribute byte. */
export const enum Attr {
  Writable = 1,
  Enumerable = 2,
  Configurable = 4,
  Accessor = 8,     // two values follow: getter, setter (Undefined when absent)
  Default = 7,
}

/** Integrity level of an object, applied after its properties. */
export const enum Integrity {
  Extensible = 0,
  NonExtensible = 1,
  Sealed = 2,
  Frozen = 3,
}

/** How array elements are laid out in a generic Array fill. */
export const enum ElementLayout {
  Dense = 0,   // `length` values, Hole marks a hole
  Sparse = 1,  // count, then that many varint indices; then the values
}

/** Typed array element types, in the order of their constructors list (codecs/binary.ts). */
export const TYPED_ARRAY_NAMES = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;

/** Native error constructors, by index in Error records. */
export const ERROR_NAMES = [
  'Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError',
] as const;
