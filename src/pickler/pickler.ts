/**
 * The encoder: walks a value graph and writes records. The walk is iterative (an explicit frame stack), so
 * a million-deep linked list needs no call stack. Every object is memoized before its children, so cycles and
 * shared references come back as the same objects.
 *
 * Fast paths first: plain records (written by shape) and plain arrays are recognised in O(1) through V8
 * map identity (see v8-maps.ts); everything else goes through the codec of its family (src/codecs).
 */
import { PikalaError, type PikalaErrorCode } from '../api/errors.js';
import { ByteWriter } from '../format/byte-writer.js';
import { FLAGS_OFFSET, HeaderFlag, writeHeader } from '../format/header.js';
import { Attr, Integrity, SHORT_STRING_MAX, Tag } from '../format/tags.js';
import { StringIndex, WRITER_STRINGS } from '../format/string-table.js';
import {
  ArrayIsArray, ArrayPrototype, ObjectGetOwnPropertyDescriptor, ObjectGetOwnPropertyNames,
  ObjectGetOwnPropertySymbols, ObjectGetPrototypeOf, ObjectIsExtensible, ObjectIsFrozen, ObjectIsSealed,
  ObjectKeys, ObjectPrototype, ObjectHasOwn, ReflectOwnKeys, SymbolKeyFor, SymbolPrototypeGetDescription,
  isArrayIndex, isProxy, isTypedArray,
} from '../util/primordials.js';
import type { ObjectCodec } from '../codecs/codec.js';
import { classifyObject } from '../codecs/dispatch.js';
import { BufferTracker } from '../codecs/binary.js';
import { HOLEY_ARRAY_REFS, PACKED_ARRAY_REFS, maps } from '../util/natives.js';
import { ShapeTable, type ShapeNode } from './shapes.js';
import { describeKey, propertySegment } from './paths.js';
import { WELL_KNOWN_SYMBOL_NAMES } from '../codecs/symbols.js';
import { OrdinaryCodec } from '../codecs/objects.js';
import { keepAlive } from '../util/keep-alive.js';

const enum Frame {
  Shape,   // the values of a plain record (fVals: its values in key order, fKeys: the keys)
  Packed,  // arr[i], no holes
  Holey,   // arr[i] or Hole
  List,    // precomputed values, Hole allowed
}

/** Captured at load: a program that replaces Object.values cannot be called by dumps. */
const ObjectValues = Object.values;

/** Marks a hole inside a precomputed value list. */
export const HOLE: object = Object.freeze({ hole: true });
/** What a popped frame's value source is reset to (releases the values for the GC, keeps the array's type). */
const EMPTY: unknown[] = [];

/** Describes a List frame's values for error paths. */
export interface ListLabels {
  /** Path segment of value `i`. */
  segment(i: number): string;
  /** The object whose properties are being written, when the values are properties. */
  readonly container?: object | null;
  keyAt?(i: number): PropertyKey | undefined;
}

export interface PicklerHooks {
  /** Encodes a function (installed by the code layer). */
  visitFunction?(p: Pickler, fn: Function): void;
  /** A registered built-in (intrinsic or module export) path, or undefined. */
  builtinPath?(o: object): string | undefined;
  /** The path of a module's exports object (checked for records that are not plain by map identity). */
  moduleObjectPath?(o: object): string | undefined;
  /** Writes `o` as a reference to an installed package's member when it is one; true if it did. */
  moduleReference?(p: Pickler, o: object): boolean;
  /** Like builtinPath, but only among the standard globals (cheap; never looks at modules). */
  knownBuiltinPath?(o: object): string | undefined;
  /** The codec for a function needed as a dependency (planned, not yet written). */
  functionCodec?(p: Pickler, fn: Function): ObjectCodec<object>;
  /** The codec for pikala's own objects that appear as dependencies (scope environments). */
  internalCodec?(o: object): ObjectCodec<object> | undefined;
  /** Codecs the code layer owns for some objects (environments, prototypes of by-value classes). */
  specialCodec?(p: Pickler, o: object): ObjectCodec<object> | undefined;
  /**
   * For an object whose prototype belongs to a constructor: the codec to write it with (its brand codec, or
   * one that restores class-private state), or false when it cannot be serialized.
   */
  instanceCodec?(p: Pickler, o: object, proto: object, brand: ObjectCodec<object>): ObjectCodec<object> | false;
  /** Writes one Fill record for code state that grew after its first fill; false when there is none. */
  writePendingFill?(p: Pickler): boolean;
  /** The code prologue to place before the body, or null. */
  prologue?(p: Pickler): Uint8Array | null;
}

/** The attributes of a plain data property (writeProps's fast path). */
const PLAIN_ATTRS = Attr.Writable | Attr.Enumerable | Attr.Configurable;

/**
 * A never-matching map reference so the fast path needs no null checks. It must be a fast-mode object with
 * a map of its own: dictionary-mode objects (like Object.create(null, ...)) share maps with each other.
 */
const NO_REF: object = { '\u0000pikala: never the map of a user object': 0 };

/** No reserved object. */
const NOTHING: object = {};

export class Pickler {
  readonly w: ByteWriter;
  /**
   * Object identity. While the graph is a tree of plain records and arrays (no object seen twice yet), a Set
   * is enough: its insertion order is the id order, and one `add` both checks and records an object (a Map
   * needs a `get` and a `set`, and its entries are larger: ~25% more time on (a)). The first time anything
   * else needs an id (a repeated object, a codec, a symbol), the Map is built from the Set and used from then on.
   * Invariant in Set mode: the Set holds the memoized objects in id order, plus at most one trailing object
   * whose id is reserved (`reserved`), added by visitObject before it knows which path writes it.
   */
  private memo: Map<unknown, number> | null = null;
  private seen: Set<unknown> | null = new Set();
  private reserved: unknown = NOTHING;
  private nextId = 0;
  /**
   * Where recently written strings are in the window of the format (format/string-table.ts): a repeated string
   * becomes a 2–3 byte reference. A full Map of every string costs ~70 ns per string (hashing plus table growth)
   * and would triple the time of string-heavy payloads; this table costs a few ns and catches the repetitions
   * that matter (keys, enum-like values). A string that misses is written again, which changes size, never meaning.
   */
  private readonly strings = StringIndex.take(WRITER_STRINGS);
  private readonly shapes = ShapeTable.take();
  /**
   * The two most recently used verified record maps (a reference object and its shape each). Two, because
   * graphs alternate between record kinds (a node and its head, a record and its nested options): with one,
   * every switch went the long way (module hooks, keys, shape lookup) only to find a map already verified.
   */
  private lastPlainRef: object = NO_REF;
  private lastPlainShape: ShapeNode | null = null;
  private prevPlainRef: object = NO_REF;
  private prevPlainShape: ShapeNode | null = null;
  private lastArrayRef: object = NO_REF;
  private lastArrayHoley = false;
  /**
   * The last object whose generic property list was all plain data properties under string keys that are
   * not array indices (class instances, mostly), with those keys: an object with the same map has the same
   * list, so writeProps reads its values without a descriptor per property.
   */
  private propsRef: object = NO_REF;
  private propsProto: object | null = NO_REF;
  private propsKeys: string[] = [];
  /**
   * The last object classifyObject found to have no built-in brand (no Date, Map, typed array...), and its
   * prototype: an object with the same map has none either (V8 keeps the instance type in the map). The
   * prototype is compared first, so objects of other kinds pay a pointer comparison, not a map comparison.
   */
  ordinaryRef: object = NO_REF;
  ordinaryProto: object | null = NO_REF;

  private fKind: Frame[] = [];
  /** The container (for paths and method homes). */
  private fObj: unknown[] = [];
  /** What the values are read from: the record's values, the array itself, or the value list. */
  private fVals: unknown[][] = [];
  /** Shape frames: the keys; List frames: the labels. */
  private fKeys: unknown[] = [];
  private fIdx: number[] = [];
  private fEnd: number[] = [];
  private sp = 0;
  /** Extra path segments while writing something that is not a frame child (a prototype, a capture). */
  private readonly pathContext: string[] = [];
  private readonly pathContextDepth: number[] = [];

  private readonly deferred: object[] = [];
  private readonly deferredCodec: ObjectCodec<object>[] = [];
  readonly buffers = new BufferTracker();
  hasCode = false;
  /** Built-ins written only as prototypes so far: referring to one as a value later hands it out. */
  private structuralBuiltins: Set<object> | null = null;
  /** True while writing a Define record (an object needed to create another one). */
  writingDependency = false;
  readonly hooks: PicklerHooks;

  /** The code layer's state for this dump (its function planner), made by its hooks on first need. */
  codeState: unknown = null;

  constructor(hooks: PicklerHooks = {}, capacity?: number) {
    this.w = new ByteWriter(capacity);
    this.hooks = hooks;
  }

  /**
   * Writes a whole payload: header, [code prologue], root value, deferred fills, buffer bytes, end.
   * The prologue is generated last (only then is every shipped function known) and spliced in front.
   */
  dump(root: unknown): Uint8Array {
    try {
      return this.dumpBody(root);
    } finally {
      this.strings.release();
      this.shapes.release();
      this.w.release();
    }
  }

  private dumpBody(root: unknown): Uint8Array {
    const w = this.w;
    writeHeader(w, 0);
    const bodyStart = w.pos;
    this.visit(root);
    this.drain();
    for (let i = 0; ;) {
      while (i < this.deferred.length) {
        const o = this.deferred[i]!;
        const codec = this.deferredCodec[i++]!;
        w.tagVarint(Tag.Fill, this.memoId(o)!);
        this.withPathRoot(codec.pathOf?.(o) ?? `root.<${codec.name}>`, () => { codec.writeFill(this, o); this.drain(); });
      }
      if (!this.hooks.writePendingFill?.(this)) break;
    }
    this.buffers.writeBytes(this);
    w.u8(Tag.End);
    if (this.hasCode) w.buf[FLAGS_OFFSET] = w.buf[FLAGS_OFFSET]! | HeaderFlag.HasCode;
    const prologue = this.hasCode ? this.hooks.prologue?.(this) ?? null : null;
    return prologue === null ? w.finish() : w.finishWith(bodyStart, prologue);
  }

  /**
   * Writes a Fill record for `o` (memo id `id`) outside the deferred queue: state that grows during the walk
   * (scope variables, weak collection entries). `write` writes the fill (default: the codec's writeFill).
   */
  writeFillRecord(o: object, id: number, codec = this.hooks.internalCodec?.(o), write?: () => void): void {
    if (codec === undefined) throw new Error('pikala internal error: refill of an object without a codec');
    this.w.tagVarint(Tag.Fill, id);
    this.withPathRoot(codec.pathOf?.(o) ?? `root.<${codec.name}>`, () => {
      if (write !== undefined) write(); else codec.writeFill(this, o);
      this.drain();
    });
  }

  /** Paths of values written by `f` (and the frames it pushes) start at `root` instead of the value root. */
  private withPathRoot(root: string, f: () => void): void {
    const saved = this.pathRoot;
    this.pathRoot = root;
    try { f(); } finally { this.pathRoot = saved; }
  }
  private pathRoot = 'root';

  // ---------------------------------------------------------------------------------------------- walk

  /**
   * Writes the children of every pushed frame, depth first, until the stack is empty. Primitive children are
   * written in place; an object child is visited (which may push its own frame, handled next), and the parent
   * frame resumes after it. fIdx of a frame is always one past the child being written, for paths.
   */
  drain(base = 0): void {
    const fKind = this.fKind, fVals = this.fVals, fIdx = this.fIdx, fEnd = this.fEnd;
    outer: while (this.sp > base) {
      const top = this.sp - 1;
      const kind = fKind[top]!;
      const vals = fVals[top]!;
      const end = fEnd[top]!;
      let i = fIdx[top]!;
      while (i < end) {
        if (kind === Frame.Holey && !ObjectHasOwn(vals, i)) { this.w.u8(Tag.Hole); i++; continue; }
        const v = vals[i++];
        switch (typeof v) {
          case 'string': this.writeString(v); continue;
          case 'number': this.writeNumber(v); continue;
          case 'boolean': this.w.u8(v ? Tag.True : Tag.False); continue;
          case 'object':
            if (v === null) { this.w.u8(Tag.Null); continue; }
            if (v === HOLE && kind === Frame.List) { this.w.u8(Tag.Hole); continue; }
            fIdx[top] = i;
            this.visitObject(v);
            if (this.sp !== top + 1) continue outer;
            continue;
          case 'function':
            fIdx[top] = i;
            this.visitFunctionValue(v);
            if (this.sp !== top + 1) continue outer;
            continue;
          default:
            this.visit(v);
        }
      }
      this.sp = top;
      this.fObj[top] = undefined;
      fVals[top] = EMPTY;
      this.fKeys[top] = undefined;
    }
  }

  private push(kind: Frame, obj: unknown, vals: unknown[], keys: unknown, start: number, end: number): void {
    const sp = this.sp++;
    this.fKind[sp] = kind;
    this.fObj[sp] = obj;
    this.fVals[sp] = vals;
    this.fKeys[sp] = keys;
    this.fIdx[sp] = start;
    this.fEnd[sp] = end;
  }

  /** Queues `values` (from index `start` on) to be written after the current record, in order. */
  pushList(values: unknown[], labels: ListLabels, start = 0): void {
    if (values.length <= start) return;
    this.push(Frame.List, values, values, labels, start, values.length);
  }

  /**
   * Writes `v` in place when it is a string, number, boolean, null or undefined (values that need no memo and
   * push no frame) and returns true; returns false, writing nothing, for anything else.
   */
  writeScalar(v: unknown): boolean {
    switch (typeof v) {
      case 'string': this.writeString(v); return true;
      case 'number': this.writeNumber(v); return true;
      case 'boolean': this.w.u8(v ? Tag.True : Tag.False); return true;
      case 'undefined': this.w.u8(Tag.Undefined); return true;
      case 'object': if (v === null) { this.w.u8(Tag.Null); return true; } return false;
      default: return false;
    }
  }

  /** Writes any value. Objects may push frames; call drain() to finish them. */
  visit(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.writeString(v);
        return;
      case 'number':
        this.writeNumber(v);
        return;
      case 'object':
        if (v === null) this.w.u8(Tag.Null);
        else this.visitObject(v);
        return;
      case 'boolean':
        this.w.u8(v ? Tag.True : Tag.False);
        return;
      case 'undefined':
        this.w.u8(Tag.Undefined);
        return;
      case 'bigint':
        this.writeBigInt(v);
        return;
      case 'symbol':
        this.writeSymbol(v);
        return;
      case 'function':
        this.visitFunctionValue(v);
        return;
    }
  }

  writeString(s: string): void {
    if (s.length === 0) { this.w.u8(Tag.StrEmpty); return; }
    const d = this.strings.find(s);
    if (d !== 0) {
      if (d <= SHORT_STRING_MAX) this.w.u8(Tag.StrRefShort - 1 + d);
      else this.w.tagVarint(Tag.StrRef, d);
      return;
    }
    this.w.string(s);
  }

  writeNumber(n: number): void {
    const w = this.w;
    if ((n | 0) === n) {
      if (n >= 0 && n < 64) {
        if (n !== 0 || 1 / n > 0) { w.u8(n); return; }
      } else {
        w.u8(Tag.Int);
        w.int32(n);
        return;
      }
    }
    if (n !== n) { w.u8(Tag.NaN); return; }
    w.u8(Tag.Float64);
    w.f64(n);
  }

  private writeBigInt(v: bigint): void {
    const w = this.w;
    if (v >= -0x8000000000000000n && v <= 0x7fffffffffffffffn) {
      w.u8(Tag.BigInt64);
      w.bigInt64(v);
      return;
    }
    const negative = v < 0n;
    let hex = (negative ? -v : v).toString(16);
    if (hex.length & 1) hex = '0' + hex;
    const n = hex.length >> 1;
    w.u8(Tag.BigInt);
    w.u8(negative ? 1 : 0);
    w.varint(n);
    w.ensure(n);
    // little-endian magnitude
    for (let i = 0; i < n; i++) {
      const at = hex.length - 2 * (i + 1);
      w.buf[w.pos++] = parseInt(hex.slice(at, at + 2), 16);
    }
  }

  private writeSymbol(s: symbol): void {
    const id = this.memoId(s);
    if (id !== undefined) { this.w.tagVarint(Tag.Ref, id); return; }
    const key = SymbolKeyFor(s);
    if (key !== undefined) {
      this.w.u8(Tag.SymbolRegistered);
      this.writeString(key);
    } else {
      const wellKnown = WELL_KNOWN_SYMBOL_NAMES.get(s);
      if (wellKnown !== undefined) {
        this.w.u8(Tag.SymbolWellKnown);
        this.writeString(wellKnown);
      } else {
        const description = SymbolPrototypeGetDescription(s);
        this.w.u8(Tag.SymbolUnique);
        if (description === undefined) this.w.u8(Tag.Undefined);
        else this.writeString(description);
      }
    }
    this.memoize(s);
  }

  /** Registers `o` in the memo; returns its id. Call right after the create payload, before the fill. */
  memoize(o: unknown): number {
    const id = this.nextId++;
    this.idMap().set(o, id);
    return id;
  }

  isMemoized(o: unknown): boolean {
    return this.idMap().has(o);
  }

  memoId(o: unknown): number | undefined {
    return this.idMap().get(o);
  }

  /**
   * Calls `f` for each memoized value (objects and symbols) from the `from`-th on, in id order; returns the
   * count seen, to pass as `from` next time. (Weak collections look for their keys among what was written.)
   */
  forEachMemoized(from: number, f: (o: unknown) => void): number {
    let i = 0;
    for (const o of this.idMap().keys()) if (i++ >= from) f(o);
    return i;
  }

  /** The identity Map, built from the Set the first time it is needed (a reserved id is released). */
  private idMap(): Map<unknown, number> {
    let memo = this.memo;
    if (memo !== null) return memo;
    memo = new Map();
    let id = 0;
    for (const o of this.seen!) {
      if (id === this.nextId) break; // the reserved object: it gets its id when it is written
      memo.set(o, id++);
    }
    this.reserved = NOTHING;
    this.seen = null;
    this.memo = memo;
    return memo;
  }

  /** Records the id of `o`, a plain record or array that visitObject checked (and, in Set mode, reserved). */
  private take(o: object): void {
    if (this.reserved === o) { this.reserved = NOTHING; this.nextId++; return; }
    this.idMap().set(o, this.nextId++);
  }

  private visitObject(o: object): void {
    const seen = this.seen;
    if (seen !== null && this.reserved === NOTHING) {
      const n = seen.size;
      seen.add(o);
      if (seen.size !== n) {
        this.reserved = o;
      } else {
        this.w.tagVarint(Tag.Ref, this.idMap().get(o)!);
        return;
      }
    } else {
      const id = this.idMap().get(o);
      if (id !== undefined) {
        this.w.tagVarint(Tag.Ref, id);
        if (this.buffers.size !== 0) this.buffers.noteReference(o);
        if (this.structuralBuiltins !== null && this.structuralBuiltins.has(o)) this.hasCode = true;
        return;
      }
    }
    if (maps !== null) {
      // Arrays first: Array.isArray is an inlined type check, cheaper than a map comparison that would fail.
      if (ArrayIsArray(o)) {
        if (maps.sameMap(o, this.lastArrayRef) && (!this.lastArrayHoley || !isSparse(o as unknown[], countPresent(o as unknown[])))) {
          this.writeArray(o as unknown[], this.lastArrayHoley);
          return;
        }
        for (const ref of PACKED_ARRAY_REFS) {
          if (maps.sameMap(o, ref)) {
            this.lastArrayRef = ref;
            this.lastArrayHoley = false;
            this.writeArray(o as unknown[], false);
            return;
          }
        }
        for (const ref of HOLEY_ARRAY_REFS) {
          if (maps.sameMap(o, ref)) {
            this.lastArrayRef = ref;
            this.lastArrayHoley = true;
            if (isSparse(o as unknown[], countPresent(o as unknown[]))) break;
            this.writeArray(o as unknown[], true);
            return;
          }
        }
      } else if (maps.sameMap(o, this.lastPlainRef)) {
        // Same map as a verified plain record: same keys, all plain data properties, so reading the values
        // runs no getter. Elements are not in the map: a record with some has more values than keys.
        const shape = this.lastPlainShape!;
        const values = ObjectValues(o);
        if (values.length === shape.keys.length) {
          this.writeShaped(o, shape, values);
          return;
        }
      } else if (maps.sameMap(o, this.prevPlainRef)) {
        const shape = this.prevPlainShape!;
        const values = ObjectValues(o);
        if (values.length === shape.keys.length) {
          this.usePlain(this.prevPlainRef, shape);
          this.writeShaped(o, shape, values);
          return;
        }
      }
    }
    this.visitOther(o);
  }

  /** Makes `ref` (a verified record of shape `node`) the most recently used record map. */
  private usePlain(ref: object, node: ShapeNode): void {
    if (ref !== this.lastPlainRef) {
      this.prevPlainRef = this.lastPlainRef;
      this.prevPlainShape = this.lastPlainShape;
    }
    this.lastPlainRef = ref;
    this.lastPlainShape = node;
  }

  private visitOther(o: object): void {
    if (isProxy(o)) {
      this.fail('PIKALA_UNSUPPORTED',
        'a Proxy cannot be serialized: its traps are code that would have to run to read it. ' +
        'Serialize the target object instead');
    }
    const proto = ObjectGetPrototypeOf(o);
    if (proto !== null && isProxy(proto)) {
      this.fail('PIKALA_UNSUPPORTED', 'an object whose prototype is a Proxy cannot be serialized: the proxy\'s ' +
        'traps are code that would have to run to read it');
    }
    if (proto === ObjectPrototype) {
      // Module objects (require('node:path')) look like plain records but travel by reference.
      const hooks = this.hooks;
      if (hooks.moduleObjectPath !== undefined) {
        const path = hooks.moduleObjectPath(o);
        if (path !== undefined) { this.writeBuiltin(o, path); return; }
        if (hooks.moduleReference!(this, o)) return;
      }
      const keys = ObjectKeys(o);
      const node = this.shapes.lookup(keys);
      const ref = node.ref;
      if (maps !== null && ref !== null && !node.hasIndexKeys && maps.sameMap(o, ref)) {
        this.usePlain(ref, node);
        this.writeShaped(o, node, ObjectValues(o));
        return;
      }
      if (isPlainData(o, keys)) {
        if (maps !== null && !node.hasIndexKeys && maps.hasFastProperties(o) && !maps.hasDictionaryElements(o)) {
          this.shapes.setRef(node, o);
          this.usePlain(o, node);
        }
        // Only plain data properties (checked above): reading them runs no getter.
        this.writeShaped(o, node, ObjectValues(o));
        return;
      }
    } else if (proto === ArrayPrototype && ArrayIsArray(o)) {
      // Arrays V8 keeps in a slow representation (and every array without natives) are checked exactly,
      // and written like fast ones, so equal arrays give equal bytes however V8 stores them.
      const present = plainArrayCount(o as unknown[]);
      if (present >= 0 && !isSparse(o as unknown[], present)) {
        this.writeArray(o as unknown[], true);
        return;
      }
    }
    this.writeGeneric(o, proto);
  }

  /**
   * Writes a plain record: its shape, then its values (`values`, in key order, read once the record is known
   * to hold only plain data properties). Primitive values are written here; from the first object on, a frame
   * writes the rest.
   */
  private writeShaped(o: object, node: ShapeNode, values: unknown[]): void {
    const w = this.w;
    this.take(o);
    const keys = node.keys;
    const n = keys.length;
    const id = this.shapes.idOf(node);
    if (id === 0) {
      this.shapes.assign(node);
      w.u8(Tag.ObjShape);
      w.u8(0);
      w.varint(n);
      for (let i = 0; i < n; i++) this.writeString(keys[i]!);
    } else {
      w.tagVarint(Tag.ObjShape, id);
    }
    for (let i = 0; i < n; i++) {
      if (this.writeScalar(values[i])) continue;
      this.push(Frame.Shape, o, values, keys, i, n);
      return;
    }
  }

  /** Writes a plain array: primitive elements here, the rest (from the first object or hole on) by a frame. */
  private writeArray(a: unknown[], holey: boolean): void {
    const w = this.w;
    this.take(a);
    const n = a.length;
    w.tagVarint(Tag.Array, n);
    let i = 0;
    if (!holey) {
      for (; i < n; i++) if (!this.writeScalar(a[i])) break;
    }
    if (i < n) this.push(holey ? Frame.Holey : Frame.Packed, a, a, null, i, n);
  }

  // ------------------------------------------------------------------------------------ generic records

  private writeGeneric(o: object, proto: object | null): void {
    // Objects of the runtime (process, performance, console) are instances of its classes: by reference.
    if (proto !== null && proto !== ObjectPrototype && ObjectGetOwnPropertyDescriptor(proto, 'constructor') !== undefined &&
      ObjectGetOwnPropertyDescriptor(o, 'constructor') === undefined) {
      const builtin = this.hooks.knownBuiltinPath?.(o);
      if (builtin !== undefined) { this.writeBuiltin(o, builtin); return; }
    }
    const codec = classifyObject(this, o, proto);
    if (codec === null) return; // a hook wrote it (instances, by-reference objects)
    // Built-in namespaces and prototypes (Math, Array.prototype...) travel by reference. Data instances
    // (dates, maps, errors) never are built-ins, so only these two shapes consult the registry.
    if (codec === OrdinaryCodec || ObjectGetOwnPropertyDescriptor(o, 'constructor') !== undefined) {
      const builtin = this.hooks.builtinPath?.(o);
      if (builtin !== undefined) {
        this.writeBuiltin(o, builtin);
        return;
      }
    }
    this.ensureDeps(o, codec, proto);
    this.writeRecord(o, codec, proto, false);
  }

  /** Writes a well-known object of the runtime by its path. */
  writeBuiltin(o: object, path: string, asPrototype = false): void {
    // A built-in function or module, or any built-in handed out as a value (Math, Object.prototype), is a
    // capability a data-only reader refuses; as a prototype a built-in is only structure.
    if (!asPrototype || typeof o === 'function' || path.startsWith('node:')) this.hasCode = true;
    else (this.structuralBuiltins ??= new Set()).add(o);
    this.w.u8(Tag.Builtin);
    this.writeString(path);
    this.memoize(o);
  }

  /**
   * Writes the Object record for `o` (its construction dependencies must already be written):
   * kind, flags, prototype, create payload, then the fill inline or deferred to after the root.
   */
  writeRecord(o: object, codec: ObjectCodec<object>, proto: object | null, deferred: boolean): void {
    const w = this.w;
    const defaultProto = codec.defaultProto(o);
    let flags = deferred ? 1 : 0;
    if (proto === null) { if (defaultProto !== null) flags |= 4; } else if (proto !== defaultProto) flags |= 2;
    w.u8(Tag.Object);
    w.u8(codec.kind);
    w.varint(flags);
    if (flags & 2) this.writeDepRef(proto!);
    codec.writeCreate(this, o);
    this.memoize(o);
    if (deferred) {
      this.deferred.push(o);
      this.deferredCodec.push(codec);
    } else {
      codec.writeFill(this, o);
    }
  }

  /** Writes a reference to an object that already exists on the receiver (memoized or built-in). */
  writeDepRef(dep: object): void {
    if (this.buffers.size !== 0) this.buffers.noteDepRef(dep);
    const id = this.memoId(dep);
    if (id !== undefined) { this.w.tagVarint(Tag.Ref, id); return; }
    const path = this.hooks.builtinPath?.(dep);
    if (path !== undefined) { this.writeBuiltin(dep, path, true); return; }
    throw new Error(`pikala internal error: dependency written before it was defined`);
  }

  /**
   * Makes sure every object `o` needs in order to be created (prototype chain, buffer, class...) exists on the
   * receiver before `o`'s record, by writing Define records for them, deepest first. Iterative: prototype
   * chains can be long.
   */
  ensureDeps(o: object, codec: ObjectCodec<object>, proto: object | null): void {
    // The common case (an instance whose class is already written): nothing to do, and nothing to allocate.
    if (codec.deps === undefined && (proto === null || proto === codec.defaultProto(o) || this.isMemoized(proto))) return;
    const pending: object[] = [];
    const pendingCodec: (ObjectCodec<object> | null)[] = [];
    const pendingProto: (object | null)[] = [];
    // 'active': its dependencies are being written (an ancestor on the current path); 'queued': not yet.
    const state = new Map<object, 'active' | 'queued'>([[o, 'active']]);
    const queue = (dep: object) => {
      if (this.isMemoized(dep) || this.hooks.builtinPath?.(dep) !== undefined) return;
      if (state.get(dep) === 'active') {
        this.fail('PIKALA_UNSUPPORTED', 'an object is needed to create itself (a construction cycle through ' +
          'prototypes, class heritage or bound functions); break the cycle before dumping');
      }
      if (isProxy(dep)) this.fail('PIKALA_UNSUPPORTED', 'a Proxy cannot be serialized (here as a prototype)');
      state.set(dep, 'queued');
      pending.push(dep);
      pendingCodec.push(null);
      pendingProto.push(null);
    };
    const pushDeps = (x: object, c: ObjectCodec<object>, p: object | null) => {
      const deps = c.deps?.(x);
      if (deps) for (let i = deps.length - 1; i >= 0; i--) queue(deps[i]!);
      if (p !== null && p !== c.defaultProto(x)) queue(p);
    };
    pushDeps(o, codec, proto);
    while (pending.length !== 0) {
      const top = pending.length - 1;
      const x = pending[top]!;
      if (this.isMemoized(x)) { pending.pop(); pendingCodec.pop(); pendingProto.pop(); continue; }
      let c = pendingCodec[top];
      let p = pendingProto[top]!;
      if (c === null) {
        // First visit: classify and queue its own dependencies.
        state.set(x, 'active');
        p = ObjectGetPrototypeOf(x);
        const internal = this.hooks.internalCodec?.(x);
        if (internal !== undefined) c = internal;
        else if (typeof x === 'function') c = this.hooks.functionCodec!(this, x);
        else this.withContext('<prototype>', () => { c = classifyObject(this, x, p, true); });
        if (c === null) { pending.pop(); pendingCodec.pop(); pendingProto.pop(); state.delete(x); continue; }
        pendingCodec[top] = c;
        pendingProto[top] = p;
        const before = pending.length;
        pushDeps(x, c!, p);
        if (pending.length !== before) continue;
      }
      pending.pop(); pendingCodec.pop(); pendingProto.pop();
      state.delete(x);
      this.w.u8(Tag.Define);
      this.writingDependency = true;
      try { this.writeRecord(x, c!, p, true); } finally { this.writingDependency = false; }
    }
  }

  /**
   * Writes the generic property list of `o`: nprops, then (attribute, key) pairs; appends the values (or
   * getter and setter) to `values`. `skip` leaves out keys a codec handles itself.
   */
  writeProps(o: object, values: unknown[], skip: ((key: PropertyKey) => boolean) | null,
    keysOut?: PropertyKey[]): void {
    const w = this.w;
    if (skip === null && ObjectGetPrototypeOf(o) === this.propsProto && maps !== null && maps.sameMap(o, this.propsRef)) {
      // Same map as a verified list: same keys, all plain data, so reading the values runs no getter.
      // Elements are not in the map: an object with some has more values than keys, and goes the long way.
      const keys = this.propsKeys;
      const own = ObjectValues(o);
      if (own.length === keys.length) {
        w.varint(keys.length);
        for (let i = 0; i < keys.length; i++) {
          w.u8(PLAIN_ATTRS);
          this.writeString(keys[i]!);
          values.push(own[i]);
          keysOut?.push(keys[i]!);
        }
        return;
      }
    }
    const all = ReflectOwnKeys(o);
    const keys: PropertyKey[] = [];
    const descs: PropertyDescriptor[] = [];
    for (let i = 0; i < all.length; i++) {
      const k = all[i]!;
      if (skip !== null && skip(k)) continue;
      let d: PropertyDescriptor;
      try {
        d = ObjectGetOwnPropertyDescriptor(o, k)!;
      } catch (e) {
        // V8 formats an Error's stack when it is first read; that can throw (a message that is the error
        // itself). Such a stack is left out; anything else is reported.
        if (k === 'stack') continue;
        throw e;
      }
      keys.push(k);
      descs.push(d);
    }
    // (An empty list is cheap enough the long way.)
    if (skip === null && maps !== null && keys.length === all.length && keys.length !== 0) this.notePlainProps(o, keys, descs);
    w.varint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const d = descs[i]!;
      const accessor = d.writable === undefined;
      w.u8((d.writable ? Attr.Writable : 0) | (d.enumerable ? Attr.Enumerable : 0) |
        (d.configurable ? Attr.Configurable : 0) | (accessor ? Attr.Accessor : 0));
      const k = keys[i]!;
      if (typeof k === 'string') this.writeString(k);
      else this.writeSymbol(k as symbol);
      if (accessor) values.push(d.get, d.set);
      else values.push(d.value);
      keysOut?.push(k);
      if (accessor) keysOut?.push(k);
    }
  }

  /** Makes `o` the reference for writeProps's fast path when its whole property list qualifies. */
  private notePlainProps(o: object, keys: PropertyKey[], descs: PropertyDescriptor[]): void {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const d = descs[i]!;
      if (typeof k !== 'string' || isArrayIndex(k) || d.writable !== true || d.enumerable !== true || d.configurable !== true) return;
    }
    // Dictionary-mode objects can share a map without sharing properties. Object.values of a typed array
    // lists its elements: the fast path would read all of them to find they do not match.
    if (!maps!.hasFastProperties(o) || maps!.hasDictionaryElements(o) || isTypedArray(o)) return;
    this.propsRef = o;
    this.propsProto = ObjectGetPrototypeOf(o);
    this.propsKeys = keys as string[];
  }

  // ------------------------------------------------------------------------------------------- errors

  private visitFunctionValue(fn: Function): void {
    const id = this.memoId(fn);
    if (id !== undefined) { this.w.tagVarint(Tag.Ref, id); return; }
    if (this.hooks.visitFunction) { this.hooks.visitFunction(this, fn); return; }
    this.fail('PIKALA_UNSUPPORTED', 'functions cannot be serialized by this pickler');
  }

  /**
   * Functions among the values the top frame has still to write (from the current one on), at most `max`:
   * the code layer captures them together.
   */
  siblingFunctions(max: number): Function[] {
    const out: Function[] = [];
    if (this.sp === 0) return out;
    const top = this.sp - 1;
    const kind = this.fKind[top];
    const vals = this.fVals[top]!;
    for (let i = this.fIdx[top]! - 1; i < this.fEnd[top]! && out.length < max; i++) {
      if (kind === Frame.Holey && !ObjectHasOwn(vals, i)) continue;
      const v = vals[i];
      if (typeof v === 'function' && !this.isMemoized(v)) out.push(v);
    }
    return out;
  }

  /**
   * The object and key whose property value is being written right now (to give methods their home object
   * and key), or null when the current value is not a property value.
   */
  currentProperty(): { container: object; key: PropertyKey } | null {
    if (this.sp === 0) return null;
    const top = this.sp - 1;
    const i = this.fIdx[top]! - 1;
    switch (this.fKind[top]) {
      case Frame.Shape: return { container: this.fObj[top] as object, key: (this.fKeys[top] as string[])[i]! };
      case Frame.List: {
        const labels = this.fKeys[top] as ListLabels;
        const key = labels.keyAt?.(i);
        if (key === undefined || !labels.container) return null;
        return { container: labels.container, key };
      }
      default: return null;
    }
  }

  /** Runs `f` with an extra path segment (for values that are not frame children). */
  withContext<T>(segment: string, f: () => T): T {
    this.pathContext.push(segment);
    this.pathContextDepth.push(this.sp);
    try {
      return f();
    } finally {
      this.pathContext.pop();
      this.pathContextDepth.pop();
    }
  }

  /** Throws a PikalaError whose path names the value being written. */
  fail(code: PikalaErrorCode, message: string): never {
    throw new PikalaError(code, message, { path: this.currentPath() });
  }

  currentPath(): string {
    let path = this.pathRoot;
    let ctx = 0;
    for (let f = 0; f < this.sp; f++) {
      while (ctx < this.pathContext.length && this.pathContextDepth[ctx]! <= f) path += '.' + this.pathContext[ctx++];
      const i = this.fIdx[f]! - 1;
      switch (this.fKind[f]) {
        case Frame.Shape: path += propertySegment((this.fKeys[f] as string[])[i]!); break;
        case Frame.Packed: case Frame.Holey: path += `[${i}]`; break;
        default: path += (this.fKeys[f] as ListLabels).segment(i);
      }
    }
    while (ctx < this.pathContext.length) path += '.' + this.pathContext[ctx++];
    return path;
  }
}

/** Plain data record: extensible, only enumerable writable configurable string-keyed data properties. */
function isPlainData(o: object, keys: string[]): boolean {
  if (!ObjectIsExtensible(o)) return false;
  if (ObjectGetOwnPropertySymbols(o).length !== 0) return false;
  if (ObjectGetOwnPropertyNames(o).length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const d = ObjectGetOwnPropertyDescriptor(o, keys[i]!)!;
    if (d.writable !== true || d.configurable !== true) return false;
  }
  return true;
}

/**
 * Exact check of a plain array (extensible, no property but its elements and a writable length, every
 * element a default data property): the number of elements present, or -1 when it is not plain.
 */
function plainArrayCount(a: unknown[]): number {
  if (!ObjectIsExtensible(a)) return -1;
  if (ObjectGetOwnPropertySymbols(a).length !== 0) return -1;
  const names = ObjectGetOwnPropertyNames(a);
  if (names[names.length - 1] !== 'length') return -1;
  if (!ObjectGetOwnPropertyDescriptor(a, 'length')!.writable) return -1;
  for (let i = 0; i < names.length - 1; i++) {
    const d = ObjectGetOwnPropertyDescriptor(a, names[i]!)!;
    if (d.writable !== true || d.configurable !== true || d.enumerable !== true) return -1;
  }
  return names.length - 1;
}

function countPresent(a: unknown[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (ObjectHasOwn(a, i)) n++;
  return n;
}

/** Mostly empty arrays go as index/value pairs (the generic Array record), like codecs/arrays.ts decides. */
function isSparse(a: unknown[], present: number): boolean {
  return present * 4 < a.length;
}

/** The integrity level of an object, checked from strongest to weakest. */
export function integrityOf(o: object): Integrity {
  if (ObjectIsExtensible(o)) return Integrity.Extensible;
  if (ObjectIsFrozen(o)) return Integrity.Frozen;
  if (ObjectIsSealed(o)) return Integrity.Sealed;
  return Integrity.NonExtensible;
}

/** Labels for a List frame made of `nContents` content values followed by property values. */
export class FillLabels implements ListLabels {
  constructor(
    private readonly nContents: number,
    private readonly content: (i: number) => string,
    private readonly propKeys: PropertyKey[],
    /** The object whose properties these are (methods found here get it as their home). */
    readonly container: object | null = null,
  ) {}

  segment(i: number): string {
    if (i < this.nContents) return this.content(i);
    const k = this.propKeys[i - this.nContents];
    if (k === undefined) return '';
    return propertySegment(k as string | symbol);
  }

  /** The property key of value `i`, if it is a property value. */
  keyAt(i: number): PropertyKey | undefined {
    return i < this.nContents ? undefined : this.propKeys[i - this.nContents];
  }
}

export function mapEntryLabel(entries: unknown[]): (i: number) => string {
  return (i) => (i & 1) ? `.get(${describeKey(entries[i - 1])})` : `.<key ${describeKey(entries[i])}>`;
}

keepAlive(new FillLabels(0, () => '', [], null));
{
  const p = new Pickler();
  p.dump({ keep: [1, 'alive', new Map()] });
  keepAlive(p);
}
