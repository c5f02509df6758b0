/**
 * Binary data: ArrayBuffer, SharedArrayBuffer, every typed array (Node Buffer included), DataView.
 *
 * Views are written as (buffer, byteOffset, length); the buffer's bytes are written once, at the end of the
 * payload, 8-byte aligned. When only views of a buffer are in the graph, only the byte range they cover is
 * shipped (so a 5-byte Node Buffer never carries the other 8 KiB of its pool), with any bytes between the views
 * blanked. That range starts at a base (a multiple of 8, so views stay aligned) that becomes offset 0 of the
 * rebuilt buffer: the buffer's length and each view's byteOffset (relative to the base) are fixed-width fields
 * patched when the walk is over. Nothing of the original's position in a larger buffer reaches the payload, so
 * two equal Buffers give the same bytes wherever Node's pool put them. When the ArrayBuffer itself is in the
 * graph it ships whole (base 0). Several views on one buffer stay on one buffer.
 */
import { Buffer } from 'node:buffer';
import { corrupt } from '../api/errors.js';
import { BufferFlag, Kind, Tag, TYPED_ARRAY_NAMES } from '../format/tags.js';
import { varintSize, type ByteWriter } from '../format/byte-writer.js';
import type { Pickler } from '../pickler/pickler.js';
import { BufferInfo, type Unpickler } from '../pickler/unpickler.js';
import { maps } from '../util/natives.js';
import {
  ArrayBufferPrototypeGetByteLength, ArrayBufferPrototypeGetMaxByteLength, ArrayBufferPrototypeGetResizable,
  DataViewPrototypeGetBuffer, DataViewPrototypeGetByteLength, DataViewPrototypeGetByteOffset, ObjectGetPrototypeOf,
  ObjectCreate, ObjectIsExtensible, ReflectConstruct, ReflectOwnKeys, SharedArrayBufferPrototypeGetByteLength,
  SharedArrayBufferPrototypeGetGrowable, SharedArrayBufferPrototypeGetMaxByteLength, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeGetByteOffset, TypedArrayPrototypeGetLength, TypedArrayPrototypeGetTag,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { ArrayBufferCtor, DataViewCtor, SafeMap, ObjectSetPrototypeOf, SharedArrayBufferCtor } from '../util/primordials.js';

const BufferFrom = Buffer.from.bind(Buffer) as typeof Buffer.from;
const BufferAllocUnsafeSlow = Buffer.allocUnsafeSlow.bind(Buffer);
import { readPlainFill, writePlainFill } from './objects.js';
import { keepAlive } from '../util/keep-alive.js';

type TypedArrayCtor = new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => ArrayBufferView;
const CTORS: readonly TypedArrayCtor[] = TYPED_ARRAY_NAMES.map((n) => (globalThis as unknown as Record<string, TypedArrayCtor>)[n]!);
const TYPE_INDEX = new Map<string, number>(TYPED_ARRAY_NAMES.map((n, i) => [n, i]));

interface BufferUse {
  patchPos: number;
  /** Whether the record has an `at` field (patched with the bytes' payload offset when they can be mapped). */
  hasAt: boolean;
  /** Views written over it, and references to it written by writeDepRef (views' and anything else's). */
  viewCount: number;
  depRefs: number;
  byteLength: number;
  /** The smallest view offset seen, -1 before the first view (a small integer, like every field here). */
  min: number;
  max: number;
  whole: boolean;
  /** The [start, end) byte ranges of the views seen, flat; used to blank the gaps between them. */
  ranges: number[];
  /** (patch position, byteOffset) of each view's offset field, flat; patched relative to the base. */
  views: number[];
}

/** Tracks which byte ranges of each buffer the graph's views use; writes the bytes at the end. */
export class BufferTracker {
  private readonly uses = new Map<object, BufferUse>();

  get size(): number {
    return this.uses.size;
  }

  register(buffer: object, patchPos: number, byteLength: number, whole: boolean, hasAt: boolean): void {
    this.uses.set(buffer, {
      patchPos, hasAt, viewCount: 0, depRefs: 0, byteLength,
      min: whole ? 0 : -1, max: whole ? byteLength : 0, whole, ranges: [], views: [],
    });
  }

  /** `o` was written as a dependency (of a view, or as a prototype...): see mappable. */
  noteDepRef(o: object): void {
    const use = this.uses.get(o);
    if (use !== undefined) use.depRefs++;
  }

  /** Writes a view's byteOffset field (patched later) and records the range the view covers. */
  writeView(w: ByteWriter, buffer: object, start: number, end: number): void {
    const use = this.uses.get(buffer)!;
    use.viewCount++;
    use.views.push(w.pos, start);
    w.u48(0);
    if (use.min < 0 || start < use.min) use.min = start;
    if (end > use.max) use.max = end;
    if (!use.whole && end > start) use.ranges.push(start, end);
  }

  /** The buffer was reached as a value, not only through views: it ships whole. */
  noteReference(o: object): void {
    const use = this.uses.get(o);
    if (use !== undefined && !use.whole) this.makeWhole(use);
  }

  private makeWhole(use: BufferUse): void {
    use.whole = true;
    use.min = 0;
    use.max = use.byteLength;
  }

  /**
   * Patches every buffer record's length and every view's offset, then writes each buffer's bytes. The output buffer is
   * sized exactly first (bytes plus the End tag), so large binary payloads are copied once.
   */
  writeBytes(p: Pickler): void {
    const w = p.w;
    if (this.uses.size === 0) return;
    let at = w.pos;
    const dataAt: number[] = [];
    for (const [buffer, use] of this.uses) {
      // A buffer no view used, or one something besides its views needs (a prototype, say), is a value:
      // ship it whole.
      if (!use.whole && (use.min < 0 || use.depRefs > use.viewCount)) this.makeWhole(use);
      // The base stays a multiple of 8 so every view keeps an offset its element size divides.
      const base = use.min - (use.min % 8);
      // Only empty views: nothing to ship, but keep the base so their offsets stay inside the (empty) buffer.
      const length = use.max > base ? use.max - base : 0;
      use.min = base;
      use.max = base + length;
      if (length === 0) continue;
      at += 1 + varintSize(p.memoId(buffer)!);
      at += (8 - (at % 8)) % 8;
      if (mappable(buffer, use)) dataAt.push(use.patchPos + 6, at);
      at += length;
    }
    w.reserveExact(at - w.pos + 1);
    for (const [buffer, use] of this.uses) {
      const length = use.max - use.min;
      w.u48At(use.patchPos, length);
      const views = use.views;
      for (let i = 0; i < views.length; i += 2) w.u48At(views[i]!, views[i + 1]! - use.min);
      if (length === 0) continue;
      w.tagVarint(Tag.Bytes, p.memoId(buffer)!);
      w.align(8);
      w.bytes(use.whole ? new Uint8Array(buffer as ArrayBuffer, use.min, length) : coveredBytes(buffer, use));
    }
    for (let i = 0; i < dataAt.length; i += 2) w.u48At(dataAt[i]!, dataAt[i + 1]!);
  }
}

/**
 * Whether a reader may make this buffer's views over the payload's own bytes (`loads` with `zeroCopy`): only
 * views reach the buffer (nothing else holds it, so nobody can tell it is the input's larger ArrayBuffer),
 * and it is a plain ArrayBuffer (no prototype, properties or frozenness that the input's buffer would take on).
 */
function mappable(buffer: object, use: BufferUse): boolean {
  return use.hasAt && !use.whole && use.depRefs === use.viewCount &&
    ObjectGetPrototypeOf(buffer) === ArrayBuffer.prototype && ReflectOwnKeys(buffer).length === 0 &&
    ObjectIsExtensible(buffer);
}

/**
 * The bytes of [min, max) that some view covers, zeros elsewhere: views far apart in one buffer (two small
 * Buffers from Node's shared pool) must not carry the unrelated bytes between them. The gap still takes room,
 * so the views keep their relative offsets and stay on one buffer.
 */
function coveredBytes(buffer: object, use: BufferUse): Uint8Array {
  const src = new Uint8Array(buffer as ArrayBuffer, use.min, use.max - use.min);
  const r = use.ranges;
  const order: number[] = [];
  for (let i = 0; i < r.length; i += 2) order.push(i);
  order.sort((a, b) => r[a]! - r[b]!);
  // One contiguous run from min to max: the source range as it is.
  let end = use.min;
  let contiguous = true;
  for (const i of order) {
    if (r[i]! > end) { contiguous = false; break; }
    if (r[i + 1]! > end) end = r[i + 1]!;
  }
  if (contiguous && end >= use.max) return src;
  const out = new Uint8Array(src.length);
  for (const i of order) out.set(src.subarray(r[i]! - use.min, r[i + 1]! - use.min), r[i]! - use.min);
  return out;
}

function bufferCodec(kind: Kind, name: string, shared: boolean): ObjectCodec {
  return {
    kind,
    name,
    defaultProto: () => (shared ? SharedArrayBuffer.prototype : ArrayBuffer.prototype),
    writeCreate(p: Pickler, o: object) {
      const w = p.w;
      const byteLength = shared ? SharedArrayBufferPrototypeGetByteLength(o) : ArrayBufferPrototypeGetByteLength(o);
      const resizable = shared ? SharedArrayBufferPrototypeGetGrowable(o) : ArrayBufferPrototypeGetResizable(o);
      // A buffer written as a value (not as a view's dependency) ships whole; so does a resizable one.
      const whole = resizable || !p.writingDependency;
      // A plain buffer that views brought in gets an `at` field: the reader may be able to map it in place.
      const hasAt = !shared && !whole;
      w.u8((resizable ? BufferFlag.Resizable : 0) | (hasAt ? BufferFlag.HasAt : 0));
      if (resizable) w.varint(shared ? SharedArrayBufferPrototypeGetMaxByteLength(o) : ArrayBufferPrototypeGetMaxByteLength(o));
      const patchPos = w.pos;
      w.u48(0);
      if (hasAt) w.u48(0);
      p.buffers.register(o, patchPos, byteLength, whole, hasAt);
    },
    writeFill(p, o) { writePlainFill(p, o); },
    create(u: Unpickler, proto) {
      const r = u.r;
      const flags = r.u8();
      if (flags > (BufferFlag.Resizable | BufferFlag.HasAt)) throw corrupt('bad buffer flag');
      const resizable = (flags & BufferFlag.Resizable) !== 0;
      const hasAt = (flags & BufferFlag.HasAt) !== 0;
      if (hasAt && (shared || resizable)) throw corrupt('bad buffer flag');
      const max = resizable ? r.varint() : 0;
      const length = r.u48();
      const at = hasAt ? r.u48() : 0;
      // Every buffer's bytes must come from Bytes records later in this payload: all together they cannot
      // announce more than what remains, so a small payload cannot make loads allocate much.
      u.announceBytes(length);
      if (resizable && (max < length || max > 2 ** 31)) throw corrupt('bad maxByteLength');
      if (at !== 0 && length !== 0 && proto === undefined) {
        const offset = u.mapInPlace(at, length);
        if (offset >= 0) {
          // Nothing but views can reach this buffer (the writer said so): its record stands for the input's
          // memory, and a null-prototype stand-in keeps the input's ArrayBuffer from being filled or exposed.
          const standIn = ObjectCreate(null) as object;
          u.buffers.set(standIn, new BufferInfo(length, u.inputBuffer, at, offset));
          u.expectBytes(length);
          return standIn;
        }
      }
      const opts = resizable ? { maxByteLength: max } : undefined;
      let ab: object;
      if (shared) ab = new (SharedArrayBufferCtor as unknown as new (n: number, o?: object) => object)(length, opts);
      else if (resizable) ab = new (ArrayBufferCtor as unknown as new (n: number, o?: object) => object)(length, opts);
      else {
        // Not zeroed: a Bytes record fills all `length` bytes (a load where one is missing fails, see
        // Unpickler.expectBytes), so zeroing first (or the page faults of fresh zeroed memory) is wasted work.
        ab = BufferAllocUnsafeSlow(length).buffer;
        if (ArrayBufferPrototypeGetByteLength(ab) !== length) throw new Error('pikala internal error: unexpected buffer size');
      }
      if (proto !== undefined) ObjectSetPrototypeOf(ab, proto);
      u.buffers.set(ab, new BufferInfo(length, null, 0, 0));
      u.expectBytes(length);
      return ab;
    },
    readFill(u, o) { readPlainFill(u, o); },
  };
}

export const ArrayBufferCodec = bufferCodec(Kind.ArrayBuffer, 'ArrayBuffer', false);
export const SharedArrayBufferCodec = bufferCodec(Kind.SharedArrayBuffer, 'SharedArrayBuffer', true);

/** Reference instances per prototype whose map proves "no own properties besides the elements". */
const viewRefs = new SafeMap<object, object | null>();
function plainViewRef(proto: object, type: number): object | null {
  let ref = viewRefs.get(proto);
  if (ref === undefined) {
    ref = null;
    if (proto === Buffer.prototype) ref = BufferAllocUnsafeSlow(0);
    else if (proto === CTORS[type]!.prototype) ref = new CTORS[type]!(new ArrayBufferCtor(0));
    viewRefs.set(proto, ref);
  }
  return ref;
}

const INDEX = /^(?:0|[1-9]\d*)$/;

function typedArrayType(o: object): number {
  const tag = TypedArrayPrototypeGetTag(o);
  const t = tag === undefined ? undefined : TYPE_INDEX.get(tag);
  if (t === undefined) throw new Error('pikala internal error: unknown typed array');
  return t;
}

export const TypedArrayCodec: ObjectCodec = {
  kind: Kind.TypedArray,
  name: 'TypedArray',
  defaultProto: (o) => (o === null ? null : CTORS[typedArrayType(o)]!.prototype),
  deps: (o) => [TypedArrayPrototypeGetBuffer(o)],
  writeCreate(p: Pickler, o: object) {
    const w = p.w;
    const type = typedArrayType(o);
    const buffer = TypedArrayPrototypeGetBuffer(o);
    const byteOffset = TypedArrayPrototypeGetByteOffset(o);
    const byteLength = TypedArrayPrototypeGetByteLength(o);
    w.u8(type);
    p.writeDepRef(buffer);
    p.buffers.writeView(w, buffer, byteOffset, byteOffset + byteLength);
    w.varint(TypedArrayPrototypeGetLength(o));
  },
  writeFill(p, o) {
    const w = p.w;
    const proto = ObjectGetPrototypeOf(o);
    const ref = proto === null ? null : plainViewRef(proto, typedArrayType(o));
    if (maps !== null && ref !== null && maps.sameMap(o, ref)) {
      // Same map as a fresh view: no own properties besides the elements, extensible.
      w.u8(0);
      w.varint(0);
      w.varint(0);
      return;
    }
    writePlainFill(p, o, (k) => typeof k === 'string' && INDEX.test(k));
  },
  create(u: Unpickler, proto) {
    const r = u.r;
    const type = r.u8();
    const Ctor = CTORS[type];
    if (Ctor === undefined) throw corrupt(`unknown typed array type ${type}`);
    const ref = u.readObjectRef();
    const info = u.buffers.get(ref);
    if (info === undefined) throw corrupt('typed array over something that is not a buffer');
    const byteOffset = r.u48();
    const length = r.varint();
    const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (byteOffset % size !== 0 || byteOffset + length * size > info.length) throw corrupt('typed array outside its buffer');
    const buffer = viewMemory(info, ref);
    const offset = viewOffset(info, byteOffset);
    if (proto === Buffer.prototype) return BufferFrom(buffer, offset, length);
    if (proto === undefined) return new Ctor(buffer, offset, length);
    return ReflectConstruct(Ctor, [buffer, offset, length], u.newTargetFor(proto));
  },
  readFill(u, o) { readPlainFill(u, o); },
};

/** The memory a view over buffer record `ref` is made on: the buffer, or the input's memory for a mapped one. */
function viewMemory(info: BufferInfo, ref: object): ArrayBuffer {
  return (info.mapped ?? ref) as ArrayBuffer;
}

/** Where a view at `byteOffset` of its buffer starts in viewMemory. */
function viewOffset(info: BufferInfo, byteOffset: number): number {
  return info.mapped === null ? byteOffset : info.offset + byteOffset;
}

export const DataViewCodec: ObjectCodec = {
  kind: Kind.DataView,
  name: 'DataView',
  defaultProto: () => DataView.prototype,
  deps: (o) => [DataViewPrototypeGetBuffer(o)],
  writeCreate(p: Pickler, o: object) {
    const buffer = DataViewPrototypeGetBuffer(o);
    const byteOffset = DataViewPrototypeGetByteOffset(o);
    const byteLength = DataViewPrototypeGetByteLength(o);
    p.writeDepRef(buffer);
    p.buffers.writeView(p.w, buffer, byteOffset, byteOffset + byteLength);
    p.w.varint(byteLength);
  },
  writeFill(p, o) { writePlainFill(p, o); },
  create(u: Unpickler, proto) {
    const ref = u.readObjectRef();
    const info = u.buffers.get(ref);
    if (info === undefined) throw corrupt('DataView over something that is not a buffer');
    const byteOffset = u.r.u48();
    const byteLength = u.r.varint();
    if (byteOffset + byteLength > info.length) throw corrupt('DataView outside its buffer');
    const buffer = viewMemory(info, ref);
    const offset = viewOffset(info, byteOffset);
    return proto === undefined
      ? new DataViewCtor(buffer, offset, byteLength)
      : ReflectConstruct(DataViewCtor, [buffer, offset, byteLength], u.newTargetFor(proto));
  },
  readFill(u, o) { readPlainFill(u, o); },
};

keepAlive(new BufferTracker());
