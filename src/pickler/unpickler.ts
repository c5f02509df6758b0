/**
 * The decoder: reads records and rebuilds values. Iterative like the encoder: containers are created and
 * memoized first (so references to them, cycles included, resolve), then a frame receives their children.
 *
 * Loading never calls user code: properties are assigned only where no setter can exist (checked once per
 * load against Object.prototype and Array.prototype) and defined otherwise; built-in methods are the
 * primordials captured when pikala loaded.
 */
import { PikalaError, corrupt } from '../api/errors.js';
import { ByteReader } from '../format/byte-reader.js';
import { Attr, FIXINT_LIMIT, Integrity, Tag } from '../format/tags.js';
import {
  ArrayPrototype, BigIntFn, MapPrototypeSet, ObjectDefineProperty, ObjectFreeze, ObjectGetOwnPropertyDescriptor,
  ObjectGetOwnPropertyNames, ObjectPreventExtensions, ObjectPrototype, ObjectSeal, SetPrototypeAdd, SymbolFn,
  SymbolFor, TypedArrayPrototypeSet, Uint8ArrayCtor, isArrayIndex, ArrayIsArray, isTypedArray,
  SafeMap, SafeSet, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteOffset, isSharedArrayBuffer,
} from '../util/primordials.js';
import { CODECS } from '../codecs/dispatch.js';
import { READER_STRINGS, StringRing } from '../format/string-table.js';
import { WELL_KNOWN_SYMBOLS } from '../codecs/symbols.js';
import { keepAlive } from '../util/keep-alive.js';
import { maps } from '../util/natives.js';

const enum Frame {
  Shape,        // obj[keys[i]] = v
  ShapeDefine,  // defineProperty(obj, keys[i], v) for keys a setter on Object.prototype could intercept
  Array,        // arr[i] = v, Hole skipped
  Fill,         // a generic fill (FillState)
  MapPairs,     // map.set(key, value) for each pair of values (fAux: the pending key)
  SetValues,    // set.add(v)
}

/** What the content values of a generic fill are. */
export const enum Content {
  None,
  Elements,       // arr[i] = v (Hole skipped)
  SparseElements, // arr[indices[i]] = v
  MapPairs,
  SetValues,
  ScopeVars,      // setter(names[i], v)
}

/** Receives the values of one generic fill; applies properties and integrity at the end. */
export class FillState {
  o: object;
  content: Content = Content.None;
  nContents = 0;
  indices: number[] | null = null;
  pendingKey: unknown = undefined;
  integrity: Integrity = Integrity.Extensible;
  propKeys: PropertyKey[] = [];
  propAttrs: number[] = [];
  propValues: unknown[] = [];
  nValues = 0;
  /** Array length to set after the elements (holes at the end). */
  arrayLength = -1;
  /** Own properties the constructor created that the original did not have. */
  remove: PropertyKey[] | null = null;
  /** Runs after properties and before integrity. */
  finish: ((o: object) => void) | null = null;
  /** Scope fills: variable names and the environment's setter. */
  names: string[] | null = null;
  setter: ((name: string, v: unknown) => void) | null = null;
  /** Read the values but apply nothing (state of a class this process already had). */
  discard = false;

  constructor(o: object) {
    this.o = o;
  }
}

export interface UnpicklerHooks {
  /** Reads the code prologue (generated sources, layout and maker tables) and compiles it. */
  readPrologue?(u: Unpickler): void;
  /** Creates an object of Kind.Instance (through its class) and reads its create payload. */
  createInstance?(u: Unpickler, proto: object | null | undefined): object;
  /** Resolves a built-in path to the receiver's own object. */
  resolveBuiltin?(path: string, dataOnly: boolean): object | undefined;
}

/**
 * A buffer being loaded. `mapped` is null for a buffer of its own (its bytes are copied in by the Bytes
 * record); otherwise the key is an internal stand-in and views are made over `mapped` (the input's
 * ArrayBuffer) from `offset`, which is payload offset `at`. (A class, kept alive below like the other per-load
 * objects: see util/keep-alive.ts.)
 */
export class BufferInfo {
  filled = false;
  constructor(readonly length: number, readonly mapped: ArrayBuffer | null, readonly at: number, readonly offset: number) {}
}

interface DeferredFill {
  readFill(u: Unpickler, o: object): void;
  multiFill?: boolean;
}

export interface UnpicklerOptions {
  allowCode: boolean;
  /** Views whose bytes can be mapped in place are made over the input's memory (LoadOptions.zeroCopy). */
  zeroCopy?: boolean;
  hooks: UnpicklerHooks;
  /** The caller's load options, for codecs that need them (module resolution). */
  options?: unknown;
}

const HOLE_VALUE: object = Object.freeze({ hole: true });
const MEMO_CHUNK_BITS = 10;
const MEMO_CHUNK = 1 << MEMO_CHUNK_BITS;
const MEMO_FIRST = 16;
const NO_CHUNK: unknown[] = [];
/** The string window of an Unpickler outside load(). */
const NO_STRINGS = new StringRing();

// Captured when pikala loads, like the primordials: a program that replaces them is never called by loads.
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;

/** Shapes with more keys are built by plain stores (a template's copy would not be cheaper). */
const MAX_TEMPLATE_KEYS = 64;

/** A shape (key list) of the payload, as the reader knows it. */
class ReadShape {
  /** Records of this shape made so far (counted until the second, when the template is made). */
  uses = 0;
  /**
   * From the shape's second record on: an object with the keys (values null) that records are copied from.
   * JSON.parse gives it exactly as many in-object slots as keys, so copies need no separate property
   * storage (`{}` has 4 slots; a fifth key allocates a property array per record), and it creates the keys
   * as own data properties (never through a setter, `__proto__` included).
   */
  template: object | null = null;
  constructor(readonly keys: string[], readonly hazard: boolean) {}
}

/**
 * A packed array of `n` ≤ 8 placeholders (overwritten, or deleted for holes, before the load returns). An array
 * literal allocates exactly n slots in one step; `[]` grows to 16 slots at its first element (a 4-element array
 * then holds 17) and costs ~3× more to fill. The placeholder is an object, so the array starts with the
 * general elements kind and never changes it (a number would start it as small integers, and a later double
 * would copy its elements).
 */
function presized(n: number): unknown[] {
  const p = HOLE_VALUE;
  switch (n) {
    case 0: return [];
    case 1: return [p];
    case 2: return [p, p];
    case 3: return [p, p, p];
    case 4: return [p, p, p, p];
    case 5: return [p, p, p, p, p];
    case 6: return [p, p, p, p, p, p];
    case 7: return [p, p, p, p, p, p, p];
    default: return [p, p, p, p, p, p, p, p];
  }
}

function makeTemplate(keys: string[]): object {
  let text = '{';
  for (let i = 0; i < keys.length; i++) text += (i === 0 ? '' : ',') + JSONStringify(keys[i]) + ':null';
  return JSONParse(text + '}') as object;
}

export class Unpickler {
  readonly r: ByteReader;
  /**
   * Every object read so far, by id, in chunks of MEMO_CHUNK: one array of tens of thousands of entries lives
   * in large-object space (old generation), and every store of a new object into it took the write barrier's
   * slow path (12% of loading (a)); a small chunk is young like the objects stored in it.
   */
  private memoChunks: unknown[][] = [];
  private memoChunk: unknown[] = NO_CHUNK;
  private memoCount = 0;
  /** The string window (format/string-table.ts), taken for the duration of load(). */
  private strings: StringRing = NO_STRINGS;
  private readonly shapes: ReadShape[] = [];
  // Made on first use: most loads need none of them, and three Maps per load cost more than a small payload's
  // whole body.
  private newTargets: SafeMap<object, Function> | null = null;
  private bufferInfos: SafeMap<object, BufferInfo> | null = null;
  /** Every buffer created so far (or its stand-in, when its views are mapped over the input): see BufferInfo. */
  get buffers(): SafeMap<object, BufferInfo> {
    return this.bufferInfos ??= new SafeMap();
  }
  readonly zeroCopy: boolean;
  readonly allowCode: boolean;
  readonly hooks: UnpicklerHooks;
  readonly options: unknown;
  /** Keys that must be defined rather than assigned, because Object.prototype intercepts them (read when the
   *  first shape arrives: many payloads, a cached function's among them, have none). */
  private objectHazards: Set<string> | null = null;
  private readonly arrayIndexHazard: boolean;

  private fKind: Frame[] = [];
  private fObj: unknown[] = [];
  private fAux: unknown[] = [];
  private fIdx: number[] = [];
  private fEnd: number[] = [];
  private sp = 0;

  /** Reads the body from `reader`'s position (after the header) to its end (before any signature). */
  constructor(reader: ByteReader, options: UnpicklerOptions) {
    this.r = reader;
    const bytes = reader.buf;
    const start = reader.pos, end = reader.end;
    this.allowCode = options.allowCode;
    this.zeroCopy = options.zeroCopy === true && !isSharedArrayBuffer(TypedArrayPrototypeGetBuffer(bytes));
    this.hooks = options.hooks;
    this.options = options.options;
    this.arrayIndexHazard = indexHazard();
    this.budget = 64 * (end - start) + (1 << 20);
  }

  /** Reads the body: the code prologue, the root value, then deferred fills and buffer bytes, up to End. */
  load(): unknown {
    this.strings = StringRing.take(READER_STRINGS);
    try {
      return this.loadBody();
    } finally {
      this.strings.release();
      this.strings = NO_STRINGS;
      // The memo goes with the load: its chunks may have been promoted to the old generation, and left
      // referencing the loaded objects they would keep them (and everything young they reach) alive through
      // every scavenge until the next full GC.
      this.memoChunks = [];
      this.memoChunk = NO_CHUNK;
    }
  }

  private loadBody(): unknown {
    if (this.arrayIndexHazard) {
      // Every array write (pikala's own tables included) would consult those properties, setters included.
      throw new PikalaError('PIKALA_UNSUPPORTED',
        'Array.prototype or Object.prototype has an index property (like "0"): something modified the ' +
        'built-ins of this process, and writing any array here could call it. pikala refuses to load here');
    }
    const r = this.r;
    if (r.pos < r.end && r.buf[r.pos] === Tag.Code) {
      r.pos++;
      if (!this.allowCode) {
        throw new PikalaError('PIKALA_CODE_REFUSED',
          'the payload holds code (functions, classes or module references) and loads was called with ' +
          'allowCode: false; load it only if you trust its producer');
      }
      if (!this.hooks.readPrologue) throw corrupt('code is not supported by this loader');
      this.hooks.readPrologue(this);
    }
    const root = this.readValue();
    for (;;) {
      const tag = r.u8();
      if (tag === Tag.End) break;
      if (tag === Tag.Fill) {
        const target = this.memoAt(r.varint());
        if (typeof target !== 'object' && typeof target !== 'function' || target === null) throw corrupt('fill of a non-object');
        const codec = this.deferredCodec.get(target as object);
        if (codec === undefined) throw corrupt('fill of an object that awaits none');
        if (!codec.multiFill) this.deferredCodec.delete(target as object);
        codec.readFill(this, target as object);
        this.run();
      } else if (tag === Tag.Bytes) {
        this.readBytes();
      } else {
        throw corrupt(`unexpected tag 0x${tag.toString(16)} after the root value`);
      }
    }
    if (r.remaining !== 0) throw corrupt(`${r.remaining} bytes after the end`);
    if (this.missingBytes !== 0) throw corrupt('a buffer\'s bytes are missing');
    this.deferredCodecs?.forEach((c) => { if (!c.multiFill) throw corrupt('objects were left unfilled'); });
    return root;
  }

  /** Reads one complete value (all nested frames). */
  readValue(): unknown {
    const base = this.sp;
    const v = this.readOne();
    if (v === HOLE_VALUE) throw corrupt('hole outside an array');
    if (this.sp > base) this.run(base);
    return v;
  }

  /** Codecs of objects whose fill comes later (Define / Deferred). */
  private deferredCodecs: SafeMap<object, DeferredFill> | null = null;
  /** Objects created by Define records whose fill has not been read yet. */
  get deferredCodec(): SafeMap<object, DeferredFill> {
    return this.deferredCodecs ??= new SafeMap();
  }
  /** Decoder-side state of the code layer (the payload's code prologue), set by hooks.readPrologue. */
  code: unknown = null;

  /**
   * Reads the values of every pushed frame, depth first, until the stack is empty. A value that is a new
   * container is stored at once (it exists, empty) and pushes its own frame, which is read next; the parent
   * resumes after it.
   */
  private run(base = 0): void {
    const fKind = this.fKind, fObj = this.fObj, fAux = this.fAux, fIdx = this.fIdx, fEnd = this.fEnd;
    outer: while (this.sp > base) {
      const top = this.sp - 1;
      const end = fEnd[top]!;
      let i = fIdx[top]!;
      switch (fKind[top]) {
        case Frame.Shape: {
          const o = fObj[top] as Record<string, unknown>;
          const keys = fAux[top] as string[];
          while (i < end) {
            const v = this.readOne();
            if (v === HOLE_VALUE) throw corrupt('hole outside an array');
            o[keys[i++]!] = v;
            if (this.sp !== top + 1) { fIdx[top] = i; continue outer; }
          }
          break;
        }
        case Frame.ShapeDefine: {
          const o = fObj[top] as object;
          const keys = fAux[top] as string[];
          while (i < end) {
            const v = this.readOne();
            if (v === HOLE_VALUE) throw corrupt('hole outside an array');
            ObjectDefineProperty(o, keys[i++]!, { value: v, writable: true, enumerable: true, configurable: true });
            if (this.sp !== top + 1) { fIdx[top] = i; continue outer; }
          }
          break;
        }
        case Frame.Array: {
          const a = fObj[top] as unknown[];
          while (i < end) {
            const v = this.readOne();
            if (v !== HOLE_VALUE) {
              if (this.arrayIndexHazard) ObjectDefineProperty(a, i, { value: v, writable: true, enumerable: true, configurable: true });
              else a[i] = v;
            } else if (i < a.length) {
              delete a[i]; // a presized array's placeholder
            }
            i++;
            if (this.sp !== top + 1) { fIdx[top] = i; continue outer; }
          }
          if (a.length !== end) a.length = end;
          break;
        }
        case Frame.MapPairs: {
          const m = fObj[top] as object;
          let key = fAux[top];
          while (i < end) {
            const v = this.readOne();
            if (v === HOLE_VALUE) throw corrupt('hole in a Map');
            if ((i++ & 1) === 0) key = v;
            else MapPrototypeSet(m, key, v);
            if (this.sp !== top + 1) { fIdx[top] = i; fAux[top] = key; continue outer; }
          }
          break;
        }
        case Frame.SetValues: {
          const set = fObj[top] as object;
          while (i < end) {
            const v = this.readOne();
            if (v === HOLE_VALUE) throw corrupt('hole in a Set');
            SetPrototypeAdd(set, v);
            i++;
            if (this.sp !== top + 1) { fIdx[top] = i; continue outer; }
          }
          break;
        }
        default: {
          const s = fAux[top] as FillState;
          while (i < end) {
            const v = this.readOne();
            this.deliverFill(s, i++, v);
            if (this.sp !== top + 1) { fIdx[top] = i; continue outer; }
          }
          this.applyFill(s);
        }
      }
      this.sp = top;
      fObj[top] = undefined;
      fAux[top] = undefined;
    }
  }

  private deliverFill(s: FillState, i: number, v: unknown): void {
    if (s.discard) return;
    if (i < s.nContents) {
      switch (s.content) {
        case Content.Elements:
          if (v !== HOLE_VALUE) this.defineElement(s.o, i, v);
          return;
        case Content.SparseElements:
          if (v === HOLE_VALUE) throw corrupt('hole in a sparse element list');
          this.defineElement(s.o, s.indices![i]!, v);
          return;
        case Content.MapPairs:
          if (v === HOLE_VALUE) throw corrupt('hole in a Map');
          if ((i & 1) === 0) s.pendingKey = v;
          else { MapPrototypeSet(s.o, s.pendingKey, v); s.pendingKey = undefined; }
          return;
        case Content.SetValues:
          if (v === HOLE_VALUE) throw corrupt('hole in a Set');
          SetPrototypeAdd(s.o, v);
          return;
        case Content.ScopeVars:
          if (v === HOLE_VALUE) throw corrupt('hole in a scope');
          s.setter!(s.names![i]!, v);
          return;
      }
    }
    if (v === HOLE_VALUE) throw corrupt('hole as a property value');
    s.propValues[s.propValues.length] = v;
  }

  private defineElement(o: object, i: number, v: unknown): void {
    if (this.arrayIndexHazard) ObjectDefineProperty(o, i, { value: v, writable: true, enumerable: true, configurable: true });
    else (o as unknown[])[i] = v;
  }

  /** Applies a finished fill: array length, removals, properties in order, finish hook, integrity. */
  applyFill(s: FillState): void {
    if (s.discard) return;
    const o = s.o;
    if (s.arrayLength >= 0 && (o as unknown[]).length !== s.arrayLength) (o as unknown[]).length = s.arrayLength;
    if (s.remove !== null) for (let i = 0; i < s.remove.length; i++) delete (o as Record<PropertyKey, unknown>)[s.remove[i]!];
    let vi = 0;
    const values = s.propValues;
    const isArray = ArrayIsArray(o);
    const typed = isTypedArray(o);
    for (let p = 0; p < s.propKeys.length; p++) {
      const attr = s.propAttrs[p]!;
      const key = s.propKeys[p]!;
      // Defining these converts the value with ToNumber, which could call a getter or valueOf.
      if (isArray && key === 'length' && typeof values[vi] !== 'number') throw corrupt('array length is not a number');
      if (typed && typeof key === 'string' && isCanonicalNumeric(key)) throw corrupt('typed array element as a property');
      if (attr & Attr.Accessor) {
        const get = values[vi++], set = values[vi++];
        if (get !== undefined && typeof get !== 'function' || set !== undefined && typeof set !== 'function') {
          throw corrupt('an accessor that is not a function');
        }
        ObjectDefineProperty(o, key, {
          get: get as (() => unknown) | undefined, set: set as ((v: unknown) => void) | undefined,
          enumerable: (attr & Attr.Enumerable) !== 0, configurable: (attr & Attr.Configurable) !== 0,
        });
      } else {
        ObjectDefineProperty(o, key, {
          value: values[vi++], writable: (attr & Attr.Writable) !== 0,
          enumerable: (attr & Attr.Enumerable) !== 0, configurable: (attr & Attr.Configurable) !== 0,
        });
      }
    }
    if (s.finish !== null) s.finish(o);
    switch (s.integrity) {
      case Integrity.Frozen: ObjectFreeze(o); break;
      case Integrity.Sealed: ObjectSeal(o); break;
      case Integrity.NonExtensible: ObjectPreventExtensions(o); break;
    }
  }

  /**
   * Reads the fill headers common to every generic record (integrity was read by the caller via
   * readIntegrity) — nprops, attributes and keys — and pushes the frame that receives
   * `s.nContents` content values and the property values.
   */
  readPropsAndPush(s: FillState): void {
    const r = this.r;
    const n = r.count(2);
    let nValues = 0;
    for (let i = 0; i < n; i++) {
      const attr = r.u8();
      if (attr > 15) throw corrupt(`bad attribute byte ${attr}`);
      const key = this.readOne();
      if (typeof key !== 'string' && typeof key !== 'symbol') throw corrupt('property key is not a string or symbol');
      s.propKeys[s.propKeys.length] = key;
      s.propAttrs[s.propAttrs.length] = attr;
      nValues += attr & Attr.Accessor ? 2 : 1;
    }
    const total = s.nContents + nValues;
    if (total > r.remaining) throw corrupt(`${total} values announced, ${r.remaining} bytes remain`);
    s.nValues = nValues;
    if (total === 0) { this.applyFill(s); return; }
    this.push(Frame.Fill, s.o, s, total);
  }

  /**
   * The fill of a Map (`map`) or Set with `n` content values, when its property list is empty (one 0 byte,
   * consumed here) and its integrity level `integrity` is the default: the values go straight into the
   * collection, without a FillState. False, with nothing consumed, otherwise.
   */
  pushEntries(o: object, integrity: Integrity, n: number, map: boolean): boolean {
    const r = this.r;
    if (integrity !== Integrity.Extensible || r.pos >= r.end || r.buf[r.pos] !== 0) return false;
    r.pos++;
    if (n > r.remaining) throw corrupt('fill values exceed the payload');
    if (n !== 0) this.push(map ? Frame.MapPairs : Frame.SetValues, o, undefined, n);
    return true;
  }

  /** Pushes a frame for a fill that has only content values (no property list). */
  pushFill(s: FillState): void {
    if (s.nContents > this.r.remaining) throw corrupt('fill values exceed the payload');
    if (s.nContents === 0) { this.applyFill(s); return; }
    this.push(Frame.Fill, s.o, s, s.nContents);
  }

  readIntegrity(): Integrity {
    const v = this.r.u8();
    if (v > Integrity.Frozen) throw corrupt(`bad integrity level ${v}`);
    return v as Integrity;
  }

  private push(kind: Frame, obj: unknown, aux: unknown, end: number): void {
    const sp = this.sp++;
    this.fKind[sp] = kind;
    this.fObj[sp] = obj;
    this.fAux[sp] = aux;
    this.fIdx[sp] = 0;
    this.fEnd[sp] = end;
  }

  /** Reads one tag's value. Containers are returned at once and filled by frames pushed here. */
  readOne(): unknown {
    const r = this.r;
    for (;;) {
      const tag = r.u8();
      if (tag < FIXINT_LIMIT) return tag;
      if (tag >= Tag.StrLatin1Short) {
        if (tag < Tag.StrRefShort) return this.strings.push(r.latin1(tag - (Tag.StrLatin1Short - 1)));
        return this.stringRef(tag - (Tag.StrRefShort - 1));
      }
      switch (tag) {
        case Tag.StrLatin1: return this.keep(r.latin1(r.varint()));
        case Tag.StrRef: return this.stringRef(r.varint());
        case Tag.ObjShape: return this.readShaped();
        case Tag.Array: {
          const n = r.count(1);
          const a = n <= 8 ? presized(n) : [];
          this.memoPush(a);
          if (n !== 0) this.push(Frame.Array, a, null, n);
          return a;
        }
        case Tag.Ref: {
          const id = r.varint();
          // A built-in read as a prototype may not come back as a value (see Tag.Builtin below).
          if (this.structuralBuiltins !== null && this.structuralBuiltins.has(id)) refuseBuiltinValue();
          return this.memoAt(id);
        }
        case Tag.Undefined: return undefined;
        case Tag.Null: return null;
        case Tag.True: return true;
        case Tag.False: return false;
        case Tag.Int: return r.int32();
        case Tag.Float64: return r.f64();
        case Tag.NaN: return NaN;
        case Tag.StrEmpty: return '';
        case Tag.StrUtf8: return this.keep(r.utf8(r.varint()));
        case Tag.StrUtf16: return this.keep(r.utf16(r.varint()));
        case Tag.BigInt64: return r.bigInt64();
        case Tag.BigInt: return this.readBigInt();
        case Tag.SymbolUnique: {
          const d = this.readOne();
          if (d !== undefined && typeof d !== 'string') throw corrupt('symbol description is not a string');
          const s = SymbolFn(d as string | undefined);
          this.memoPush(s);
          return s;
        }
        case Tag.SymbolRegistered: {
          const key = this.readString();
          const s = SymbolFor(key);
          this.memoPush(s);
          return s;
        }
        case Tag.SymbolWellKnown: {
          const name = this.readString();
          const s = WELL_KNOWN_SYMBOLS.get(name);
          if (s === undefined) throw new PikalaError('PIKALA_UNSUPPORTED', `this runtime has no well-known symbol Symbol.${name}`);
          this.memoPush(s);
          return s;
        }
        case Tag.Hole: return HOLE_VALUE;
        case Tag.Object: return this.readObjectRecord(false);
        case Tag.Define:
          if (r.u8() !== Tag.Object) throw corrupt('Define not followed by an Object record');
          this.readObjectRecord(true);
          continue;
        case Tag.Builtin:
          // Data-only loads accept built-ins only as prototypes (readObjectRef): handing the receiver's own
          // Object.prototype or Math to a caller that writes into loaded data would let a payload pollute them.
          if (!this.allowCode) refuseBuiltinValue();
          return this.readBuiltin();
        default:
          throw corrupt(`unknown tag 0x${tag.toString(16)} at offset ${r.pos - 1}`);
      }
    }
  }

  private stringRef(d: number): string {
    const s = this.strings.ref(d);
    if (s === undefined) throw corrupt(`reference to the string ${d} strings back, which the window does not hold`);
    return s;
  }

  /** Pushes a literal string on the string window (empty strings are never literals). */
  private keep(s: string): string {
    if (s.length === 0) throw corrupt('empty string literal');
    return this.strings.push(s);
  }

  private readShaped(): object {
    const r = this.r;
    let id = r.varint();
    if (id === 0) {
      const n = r.count(1);
      const keys: string[] = [];
      let hazard = false;
      const hazards = (this.objectHazards ??= protoHazards(ObjectPrototype));
      // In an unmodified realm the only such key is __proto__: a string comparison instead of a Set lookup.
      const onlyProto = hazards.size === 1;
      for (let i = 0; i < n; i++) {
        const k = this.readOne();
        if (typeof k !== 'string') throw corrupt('shape key is not a string');
        keys[keys.length] = k;
        if ((onlyProto ? k === '__proto__' : hazards.has(k)) || this.arrayIndexHazard && isIndex(k)) hazard = true;
      }
      this.shapes[this.shapes.length] = new ReadShape(keys, hazard);
      id = this.shapes.length;
    }
    const shape = this.shapes[id - 1];
    if (shape === undefined) throw corrupt(`shape ${id} is not defined`);
    const n = shape.keys.length;
    let o: object;
    let kind = shape.hazard ? Frame.ShapeDefine : Frame.Shape;
    if (shape.template !== null) {
      // A copy of the template has every key as an own data property already, in order, in a map sized
      // for them: the values are then plain stores (no setter can intercept an own data property).
      o = { ...shape.template };
      kind = Frame.Shape;
    } else {
      o = {};
      if (++shape.uses === 2 && n <= MAX_TEMPLATE_KEYS && n !== 0) shape.template = makeTemplate(shape.keys);
    }
    this.memoPush(o);
    if (n !== 0) {
      if (n > r.remaining) throw corrupt('object values exceed the payload');
      this.push(kind, o, shape.keys, n);
    }
    return o;
  }

  private readObjectRecord(define: boolean): object {
    const r = this.r;
    const kind = r.u8();
    const codec = CODECS[kind];
    if (codec === undefined) throw corrupt(`unknown object kind ${kind}`);
    if (codec.code && !this.allowCode) {
      throw new PikalaError('PIKALA_CODE_REFUSED',
        'the payload holds code (functions, classes or module references) and loads was called with ' +
        'allowCode: false; load it only if you trust its producer');
    }
    const flags = r.varint();
    if (flags > 7) throw corrupt(`bad object flags ${flags}`);
    let proto: object | null | undefined;
    if (flags & 4) proto = null;
    else if (flags & 2) proto = this.readObjectRef();
    const o = codec.create(this, proto);
    this.memoPush(o);
    if (define || (flags & 1)) {
      if (!define) throw corrupt('a deferred record outside Define');
      this.deferredCodec.set(o, codec);
      return o;
    }
    codec.readFill(this, o);
    return o;
  }

  /** Reads a reference to an existing object: Ref or Builtin, nothing that creates new structure. */
  readObjectRef(): object {
    const r = this.r;
    const tag = r.u8();
    let v: unknown;
    if (tag === Tag.Ref) v = this.memoAt(r.varint());
    else if (tag === Tag.Builtin) v = this.readBuiltin();
    else throw corrupt(`expected a reference, found tag 0x${tag.toString(16)}`);
    if (typeof v !== 'object' && typeof v !== 'function' || v === null) throw corrupt('reference to a non-object');
    return v as object;
  }

  /** Built-in paths resolved in this load (made on first use, like the other maps). */
  private builtins: SafeMap<string, object | undefined> | null = null;

  private readBuiltin(): object {
    const path = this.readString();
    let resolved: object | undefined;
    const builtins = this.builtins ??= new SafeMap();
    if (builtins.has(path)) {
      resolved = builtins.get(path);
    } else {
      this.charge(path.length);
      resolved = this.hooks.resolveBuiltin?.(path, !this.allowCode);
      builtins.set(path, resolved);
    }
    if (resolved === undefined) {
      if (!this.allowCode) {
        throw new PikalaError('PIKALA_CODE_REFUSED',
          `the payload refers to the built-in ${path}, which loads with allowCode: false may not touch`);
      }
      throw new PikalaError('PIKALA_MODULE_NOT_FOUND', `this runtime (Node ${process.version}) has no built-in ${path}`);
    }
    this.memoPush(resolved);
    if (!this.allowCode) (this.structuralBuiltins ??= new SafeSet()).add(this.memoCount - 1);
    return resolved;
  }

  /** Memo ids of the built-ins a data-only load resolved (as prototypes: the only way it accepts them). */
  private structuralBuiltins: SafeSet<number> | null = null;

  /** Reads a string value (any string tag). */
  readString(): string {
    const s = this.readOne();
    if (typeof s !== 'string') throw corrupt('expected a string');
    return s;
  }

  private readBigInt(): bigint {
    const r = this.r;
    const sign = r.u8();
    if (sign > 1) throw corrupt('bad bigint sign');
    const n = r.count(1);
    const bytes = r.bytes(n);
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
    const v = n === 0 ? 0n : BigIntFn('0x' + hex);
    return sign ? -v : v;
  }

  private readBytes(): void {
    const r = this.r;
    const target = this.memoAt(r.varint());
    const info = this.buffers.get(target as object);
    if (info === undefined) throw corrupt('bytes for something that is not a buffer');
    if (info.filled) throw corrupt('bytes of one buffer written twice');
    r.skipAlign(8);
    if (info.mapped !== null) {
      // Its views already use these bytes in place: they must be exactly where the record said.
      if (r.pos !== info.at) throw corrupt('mapped bytes are not where their buffer said');
      r.bytes(info.length);
    } else {
      TypedArrayPrototypeSet(new Uint8ArrayCtor(target as ArrayBuffer), r.bytes(info.length));
    }
    if (info.length > 0) this.missingBytes--;
    info.filled = true;
  }

  /**
   * The offset in the input's ArrayBuffer (`inputBuffer`) at which the `length` bytes at payload offset `at`
   * can serve as a buffer's memory in place, or -1 when they cannot (not zeroCopy, shared memory, not 8-byte
   * aligned in memory, or out of range).
   */
  mapInPlace(at: number, length: number): number {
    const r = this.r;
    if (!this.zeroCopy || at < r.pos || length > r.end - at) return -1;
    const offset = TypedArrayPrototypeGetByteOffset(r.buf) + at;
    return offset % 8 === 0 ? offset : -1;
  }

  get inputBuffer(): ArrayBuffer {
    return TypedArrayPrototypeGetBuffer(this.r.buf) as ArrayBuffer;
  }

  private announced = 0;
  /** Buffers created with bytes still to come in a Bytes record. */
  private missingBytes = 0;

  /** A buffer of `n` bytes was created whose bytes a Bytes record must fill before the end. */
  expectBytes(n: number): void {
    if (n > 0) this.missingBytes++;
  }
  private spent = 0;
  private readonly budget: number;

  /** A buffer of `n` bytes will be filled by a later Bytes record: all of them must fit in the payload. */
  announceBytes(n: number): void {
    this.announced += n;
    if (this.announced > this.r.end) throw corrupt(`buffers announce ${this.announced} bytes; the payload has ${this.r.end}`);
  }

  /**
   * Work that a short record can make the loader repeat (parsing a URL or compiling a RegExp from a string
   * referenced by 2 bytes, walking a built-in path): bounded by a multiple of the payload size, so the time
   * and memory of a load stay proportional to its input.
   */
  charge(units: number): void {
    this.spent += units;
    if (this.spent > this.budget) {
      throw new PikalaError('PIKALA_LIMIT', `the payload asks for more work than its size allows (${this.spent} units for ${this.r.end} bytes)`);
    }
  }

  memoPush(o: unknown): void {
    const n = this.memoCount++;
    const i = n & (MEMO_CHUNK - 1);
    if (i === 0) {
      // The first chunk starts small (making 1024 slots cost more than a small payload's whole load) and is
      // made whole once the payload has shown it has many objects; later chunks are whole from the start.
      this.memoChunk = new Array(n === 0 ? MEMO_FIRST : MEMO_CHUNK);
      this.memoChunks[this.memoChunks.length] = this.memoChunk;
    } else if (n === MEMO_FIRST) {
      this.memoChunk.length = MEMO_CHUNK;
    }
    this.memoChunk[i] = o;
  }

  memoAt(id: number): unknown {
    if (id >= this.memoCount) throw corrupt(`reference ${id} to an object not yet defined`);
    return this.memoChunks[id >>> MEMO_CHUNK_BITS]![id & (MEMO_CHUNK - 1)];
  }

  /** How many objects were read so far. */
  get memoSize(): number {
    return this.memoCount;
  }

  /** A constructor whose `prototype` is `proto`, for Reflect.construct of built-ins with a custom prototype. */
  newTargetFor(proto: object | null): Function {
    const key = proto === null ? NULL_KEY : proto;
    const newTargets = this.newTargets ??= new SafeMap();
    let nt = newTargets.get(key);
    if (nt === undefined) {
      nt = function () { /* new.target carrier */ };
      ObjectDefineProperty(nt, 'prototype', { value: proto });
      newTargets.set(key, nt);
    }
    return nt;
  }
}

const NULL_KEY = {};

function isCanonicalNumeric(k: string): boolean {
  return k === '-0' || String(Number(k)) === k;
}

function isIndex(k: string): boolean {
  return isArrayIndex(k);
}

/** Names of Object.prototype properties an assignment would not simply create on the target. */
function protoHazards(proto: object): Set<string> {
  const out = new SafeSet<string>();
  out.add('__proto__');
  // Index loops, not for-of: the loader never calls the realm's array iterator.
  const names = ObjectGetOwnPropertyNames(proto);
  for (let i = 0; i < names.length; i++) {
    const d = ObjectGetOwnPropertyDescriptor(proto, names[i]!)!;
    if (d.writable !== true) out.add(names[i]!);
  }
  return out;
}

/**
 * Whether Array.prototype or Object.prototype has an index property that a write to an array would consult
 * (an accessor, or a read-only value). V8 keeps such properties only in dictionary elements, so while both
 * prototypes have none (the usual case) the answer costs two native checks instead of listing their names.
 */
function indexHazard(): boolean {
  if (maps !== null && !maps.hasDictionaryElements(ArrayPrototype) && !maps.hasDictionaryElements(ObjectPrototype)) {
    return false;
  }
  return hasIndexProperties(ArrayPrototype) || hasIndexProperties(ObjectPrototype);
}

function hasIndexProperties(o: object): boolean {
  const names = ObjectGetOwnPropertyNames(o);
  for (let i = 0; i < names.length; i++) if (isIndex(names[i]!)) return true;
  return false;
}

function refuseBuiltinValue(): never {
  throw new PikalaError('PIKALA_CODE_REFUSED', 'the payload holds a built-in object as a value, which ' +
    'loads with allowCode: false does not hand out');
}

keepAlive(new FillState({}));
keepAlive(new BufferInfo(0, null, 0, 0));
keepAlive(new ReadShape(['keep'], false));
keepAlive(new Unpickler(new ByteReader(new Uint8Array(0)), { allowCode: false, hooks: {} }));
