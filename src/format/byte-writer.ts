/**
 * One growable output buffer with the primitive encodings of the format: bytes, LEB128 varints, zigzag ints,
 * little-endian float64, and the three string encodings. Knows nothing about JavaScript values beyond that.
 */
import { Buffer } from 'node:buffer';
import { StringIsWellFormed } from '../util/primordials.js';
import { SHORT_STRING_MAX, Tag } from './tags.js';
import { charCodeAt } from './string-table.js';
import { keepAlive } from '../util/keep-alive.js';

const NON_LATIN1 = /[^\x00-\xff]/;
const MIN_CAPACITY = 1024;
/**
 * Strings with a code unit above 0xff up to this length are encoded in JavaScript (shortWide); longer ones by
 * Node. 42 keeps the UTF-8 (at most 3 bytes a unit) and UTF-16 lengths in one varint byte.
 */
export const SHORT_WIDE = 42;
/** The largest working buffer kept for the next payload. */
const SPARE_MAX = 8 << 20;
// Captured when pikala loads, like the primordials.
const BufferAllocUnsafeSlow = Buffer.allocUnsafeSlow.bind(Buffer);
const BufferFrom = Buffer.from.bind(Buffer) as typeof Buffer.from;

/** A working buffer with its Node and DataView faces, kept between payloads. */
interface Spare {
  buf: Uint8Array;
  nodeBuf: Buffer;
  view: DataView;
}

export class ByteWriter {
  buf: Uint8Array;
  private nodeBuf: Buffer;
  private view: DataView;
  pos = 0;
  /**
   * The working buffer of the previous payload: writing into it needs no growth (each growth copies what was
   * written), and finish() copies the result out once. Taken by one writer at a time (a nested dump allocates).
   */
  static spare: Spare | null = null;
  /** Whether this writer may hand its buffer on as the spare when it is done (not when finish() returned it). */
  private recycle = false;

  constructor(capacity = MIN_CAPACITY) {
    const spare = ByteWriter.spare;
    if (capacity === MIN_CAPACITY && spare !== null) {
      ByteWriter.spare = null;
      this.buf = spare.buf;
      this.nodeBuf = spare.nodeBuf;
      this.view = spare.view;
    } else {
      this.buf = new Uint8Array(Math.max(capacity, 64));
      this.nodeBuf = BufferFrom(this.buf.buffer, 0, this.buf.length);
      this.view = new DataView(this.buf.buffer);
    }
    this.recycle = capacity === MIN_CAPACITY;
  }

  /** Hands the working buffer on to the next writer (call when the writer is done, finished or failed). */
  release(): void {
    if (!this.recycle) return;
    this.recycle = false;
    offer(this.buf, this.nodeBuf, this.view);
  }

  /** Makes room for `n` more bytes. Growth is geometric so writing N bytes costs O(N) copying in total. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const need = this.pos + n;
    let size = this.buf.length;
    while (size < need) size = size < 16 << 20 ? size * 4 : Math.ceil(size * 1.5);
    this.resize(size);
  }

  /**
   * Makes the buffer exactly `n` bytes longer than what is written, when the caller knows the rest of the
   * output's size: finish() can then return the buffer itself instead of copying it.
   */
  reserveExact(n: number): void {
    if (this.pos + n !== this.buf.length) this.resize(this.pos + n);
  }

  private resize(size: number): void {
    // Unzeroed memory: every byte below `pos` is written before it is read, and finish() never exposes more.
    const next = allocate(size);
    next.set(this.buf.subarray(0, this.pos));
    if (this.recycle) offer(this.buf, this.nodeBuf, this.view);
    this.buf = next;
    this.nodeBuf = BufferFrom(next.buffer, 0, next.length);
    this.view = new DataView(next.buffer);
  }

  u8(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned LEB128 for integers in [0, 2^53). */
  varint(n: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const buf = this.buf;
    if (n < 0x80) { buf[this.pos++] = n; return; }
    if (n < 0x4000) { buf[this.pos++] = (n & 0x7f) | 0x80; buf[this.pos++] = n >>> 7; return; }
    while (n >= 0x80000000) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    while (n >= 0x80) { buf[this.pos++] = (n & 0x7f) | 0x80; n >>>= 7; }
    buf[this.pos++] = n;
  }

  /** A tag byte followed by a varint, in one bounds check. */
  tagVarint(tag: number, n: number): void {
    if (this.pos + 9 > this.buf.length) this.grow(9);
    if (n < 0x80) { this.buf[this.pos++] = tag; this.buf[this.pos++] = n; return; }
    this.buf[this.pos++] = tag;
    this.varint(n);
  }

  /** Zigzag varint for int32 values. */
  int32(n: number): void {
    this.varint(((n << 1) ^ (n >> 31)) >>> 0);
  }

  f64(x: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setFloat64(this.pos, x, true);
    this.pos += 8;
  }

  u32At(pos: number, v: number): void {
    this.view.setUint32(pos, v, true);
  }

  /** Fixed-width unsigned 48-bit field (used for fields patched after the fact). */
  u48(v: number): void {
    this.ensure(6);
    this.u48At(this.pos, v);
    this.pos += 6;
  }

  u48At(pos: number, v: number): void {
    this.view.setUint32(pos, v % 0x100000000, true);
    this.view.setUint16(pos + 4, Math.floor(v / 0x100000000), true);
  }

  bigInt64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Pads with zero bytes so the next byte's offset is a multiple of `n`. */
  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.ensure(pad);
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0;
  }

  /** Writes a non-empty string with its tag, choosing latin1, UTF-8 or UTF-16 so every string is exact. */
  string(s: string): void {
    const n = s.length;
    if (n > SHORT_STRING_MAX) { this.longerString(s, n); return; }
    // Short strings (most of them): latin1 with the length in the tag, written while scanning. Kept small so
    // that it inlines into the pickler's writeString.
    if (this.pos + n + 1 > this.buf.length) this.grow(n + 1);
    const buf = this.buf;
    const start = this.pos;
    buf[start] = Tag.StrLatin1Short - 1 + n;
    let p = start + 1;
    for (let i = 0; i < n; i++) {
      const c = charCodeAt(s, i);
      if (c > 0xff) { this.wide(s, n); return; }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private longerString(s: string, n: number): void {
    if (n < 0x80) {
      if (this.pos + n + 2 > this.buf.length) this.grow(n + 2);
      const buf = this.buf;
      const start = this.pos;
      buf[start] = Tag.StrLatin1;
      buf[start + 1] = n;
      let p = start + 2;
      for (let i = 0; i < n; i++) {
        const c = charCodeAt(s, i);
        if (c > 0xff) { this.wideString(s); return; }
        buf[p++] = c;
      }
      this.pos = p;
      return;
    }
    if (!NON_LATIN1.test(s)) {
      this.tagVarint(Tag.StrLatin1, n);
      this.ensure(n);
      this.nodeBuf.latin1Write(s, this.pos, n);
      this.pos += n;
      return;
    }
    this.wideString(s);
  }

  /** A string of at most SHORT_STRING_MAX code units with one above 0xff (nothing written yet). */
  private wide(s: string, n: number): void {
    if (n <= SHORT_WIDE) this.shortWide(s, n);
    else this.wideString(s);
  }

  /**
   * A short string with a code unit above 0xff, encoded here (a call into Node costs more than the encoding):
   * UTF-16, unless UTF-8 is strictly smaller (text that is mostly ASCII). UTF-16 is one branch-free pass each
   * way, where UTF-8 needs a branch per character to write and a validating decoder to read (measured: 78 ns
   * per string of payload (e)'s non-latin1 strings in UTF-8, 8 characters on average), and it is never larger
   * for CJK text (2 bytes a character against 3) or Greek and Cyrillic (2 and 2). Both sizes come from one pass:
   * UTF-8 takes 2n - ascii + threeByte bytes (a surrogate is 2 of a pair's 4), UTF-16 takes 2n; `more` counts
   * ascii - threeByte without branches (with a branch per class, mixed text mispredicts: 2x the time).
   */
  private shortWide(s: string, n: number): void {
    if (this.pos + 2 + 3 * n > this.buf.length) this.grow(2 + 3 * n);
    const buf = this.buf;
    const start = this.pos;
    let p = start + 2;
    let more = 0;
    for (let i = 0; i < n; i++) {
      const c = charCodeAt(s, i);
      buf[p] = c;
      buf[p + 1] = c >> 8;
      p += 2;
      // +1 below 0x80, -1 from 0x800 on, +1 back for a surrogate (0xd800-0xdfff).
      more += ((c - 0x80) >>> 31) - ((0x7ff - c) >>> 31) + (((c ^ 0xd800) - 0x800) >>> 31);
    }
    if (more > 0 && this.shortUtf8(s, n)) return;
    buf[start] = Tag.StrUtf16;
    buf[start + 1] = n;
    if (more > 0) {
      // shortUtf8 found a lone surrogate after overwriting some of the UTF-16: write it again.
      p = start + 2;
      for (let i = 0; i < n; i++) {
        const c = charCodeAt(s, i);
        buf[p++] = c;
        buf[p++] = c >> 8;
      }
    }
    this.pos = p;
  }

  /**
   * UTF-8 of a string of at most 42 code units (so at most 126 bytes: the length is one byte). False, with
   * nothing written (the bytes after the tag may be clobbered), when the string holds a lone surrogate.
   */
  private shortUtf8(s: string, n: number): boolean {
    const buf = this.buf;
    const start = this.pos;
    let p = start + 2;
    for (let i = 0; i < n; i++) {
      const c = charCodeAt(s, i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c > 0xdbff || i + 1 >= n) return false;
        const d = charCodeAt(s, i + 1);
        if (d < 0xdc00 || d > 0xdfff) return false;
        i++;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[p++] = 0x80 | (cp & 0x3f);
      }
    }
    buf[start] = Tag.StrUtf8;
    buf[start + 1] = p - start - 2;
    this.pos = p;
    return true;
  }

  private wideString(s: string): void {
    const n = s.length;
    if (StringIsWellFormed(s)) {
      // Reserve the worst case, write, then move the bytes if the length varint was shorter than reserved.
      const max = n * 3;
      this.ensure(max + 10);
      const lenPos = this.pos + 1;
      const reserve = varintSize(max);
      const written = this.nodeBuf.utf8Write(s, lenPos + reserve, max);
      const actual = varintSize(written);
      this.buf[this.pos] = Tag.StrUtf8;
      if (actual !== reserve) this.buf.copyWithin(lenPos + actual, lenPos + reserve, lenPos + reserve + written);
      this.pos = lenPos;
      this.varint(written);
      this.pos += written;
      return;
    }
    this.tagVarint(Tag.StrUtf16, n);
    this.ensure(n * 2);
    this.nodeBuf.ucs2Write(s, this.pos, n * 2);
    this.pos += n * 2;
  }

  /** The finished bytes, in an exactly sized array that owns its memory. */
  finish(): Uint8Array {
    const n = this.pos;
    if (n === this.buf.length && this.buf.byteOffset === 0 && this.buf.buffer.byteLength === n) {
      this.recycle = false;
      return this.buf;
    }
    const out = allocate(n);
    out.set(this.buf.subarray(0, n));
    return out;
  }

  /** Like finish(), with `insert` placed at offset `at` of the written bytes (one copy). */
  finishWith(at: number, insert: Uint8Array): Uint8Array {
    const n = this.pos;
    const out = allocate(n + insert.length);
    out.set(this.buf.subarray(0, at));
    out.set(insert, at);
    out.set(this.buf.subarray(at, n), at + insert.length);
    return out;
  }
}

/** Keeps a working buffer for the next writer, if it is larger than the one kept (and not too large). */
function offer(buf: Uint8Array, nodeBuf: Buffer, view: DataView): void {
  if (buf.length > SPARE_MAX) return;
  const spare = ByteWriter.spare;
  if (spare === null || spare.buf.length < buf.length) ByteWriter.spare = { buf, nodeBuf, view };
}

/**
 * A Uint8Array of exactly `n` bytes on an ArrayBuffer of its own, not zeroed: every byte below `pos` is written
 * before it is read, and finish() never exposes more. (Zeroing, or the page faults of fresh zeroed memory, costs
 * as much as the copy.)
 */
function allocate(n: number): Uint8Array {
  const raw = BufferAllocUnsafeSlow(n);
  return new Uint8Array(raw.buffer, raw.byteOffset, n);
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) { n = Math.floor(n / 0x80); size++; }
  return size;
}

declare module 'node:buffer' {
  interface Buffer {
    latin1Write(s: string, offset: number, length: number): number;
    utf8Write(s: string, offset: number, length: number): number;
    ucs2Write(s: string, offset: number, length: number): number;
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
    ucs2Slice(start: number, end: number): string;
  }
}

keepAlive(new ByteWriter(64));
