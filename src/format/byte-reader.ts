/**
 * Bounds-checked reads over a payload. Every length is checked against the bytes that remain, so a short
 * payload can never make the reader allocate more than it holds; every failure is a PIKALA_CORRUPT error.
 */
import { Buffer } from 'node:buffer';
import { corrupt } from '../api/errors.js';
import {
  BufferFrom, DataViewCtor, ReflectApply, StringFromCharCode, TypedArrayPrototypeGetBuffer,
  TypedArrayPrototypeGetByteOffset, TypedArrayPrototypeGetLength,
} from '../util/primordials.js';
import { keepAlive } from '../util/keep-alive.js';

export class ByteReader {
  readonly buf: Uint8Array;
  // Made on first use: a small payload often needs neither, and making both cost as much as its whole load.
  private nodeBufOrNull: Buffer | null = null;
  private viewOrNull: DataView | null = null;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = TypedArrayPrototypeGetLength(buf)) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  private get nodeBuf(): Buffer {
    const buf = this.buf;
    // The input's own getters may have been replaced by the program: the captured ones read it.
    return this.nodeBufOrNull ??= BufferFrom(
      TypedArrayPrototypeGetBuffer(buf), TypedArrayPrototypeGetByteOffset(buf), TypedArrayPrototypeGetLength(buf));
  }

  private get view(): DataView {
    const buf = this.buf;
    return this.viewOrNull ??= new DataViewCtor(
      TypedArrayPrototypeGetBuffer(buf), TypedArrayPrototypeGetByteOffset(buf), TypedArrayPrototypeGetLength(buf));
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw corrupt('unexpected end of data');
    return this.buf[this.pos++]!;
  }

  /** Unsigned LEB128, at most 2^53 - 1. */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) { this.pos = pos + 1; return b; }
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= this.end) throw corrupt('unexpected end of data in a varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (i >= 7) throw corrupt('varint too long');
    }
    if (result > Number.MAX_SAFE_INTEGER) throw corrupt('varint out of range');
    this.pos = pos;
    return result;
  }

  /** A count of items that each take at least `minBytes` bytes: bounded by what remains. */
  count(minBytes = 1): number {
    const n = this.varint();
    if (n * minBytes > this.end - this.pos) throw corrupt(`count ${n} exceeds the ${this.end - this.pos} bytes that remain`);
    return n;
  }

  int32(): number {
    const z = this.varint();
    if (z > 0xffffffff) throw corrupt('int32 out of range');
    return (z >>> 1) ^ -(z & 1);
  }

  f64(): number {
    if (this.pos + 8 > this.end) throw corrupt('unexpected end of data in a float64');
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  u48(): number {
    const p = this.pos;
    if (p + 6 > this.end) throw corrupt('unexpected end of data');
    // Byte loads rather than the DataView: a payload that needs no other fixed-width read then never makes one.
    const b = this.buf;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
    const hi = b[p + 4]! | (b[p + 5]! << 8);
    this.pos = p + 6;
    // Optimised code would box `0 * 2**32 + lo` as a heap number; a small integer keeps every field that
    // stores it (lengths, offsets) a small-integer field, whose object maps then never change (keep-alive.ts).
    return hi === 0 ? lo : hi * 0x100000000 + lo;
  }

  bigInt64(): bigint {
    if (this.pos + 8 > this.end) throw corrupt('unexpected end of data in a bigint');
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw corrupt(`${n} bytes announced, ${this.end - this.pos} remain`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips the padding the writer added to align the next byte to `n` (relative to the payload start). */
  skipAlign(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    if (pad > this.end - this.pos) throw corrupt('unexpected end of data in padding');
    this.pos += pad;
  }

  latin1(n: number): string {
    if (n > this.end - this.pos) throw corrupt(`string of ${n} bytes announced, ${this.end - this.pos} remain`);
    const p = this.pos;
    this.pos = p + n;
    // Short strings: String.fromCharCode with one argument per byte makes a flat string in one call, several
    // times cheaper than a call into Node's latin1Slice (and than concatenation, which makes cons strings).
    if (n <= 16) return shortString(this.buf, p, n);
    return this.nodeBuf.latin1Slice(p, p + n);
  }

  utf8(n: number): string {
    if (n > this.end - this.pos) throw corrupt(`string of ${n} bytes announced, ${this.end - this.pos} remain`);
    const p = this.pos;
    this.pos = p + n;
    if (n <= 48) {
      const s = shortUtf8(this.buf, p, n);
      if (s !== null) return s;
    }
    return this.nodeBuf.utf8Slice(p, p + n);
  }

  utf16(units: number): string {
    if (units * 2 > this.end - this.pos) throw corrupt(`string of ${units} code units announced, ${this.end - this.pos} bytes remain`);
    const p = this.pos;
    this.pos = p + units * 2;
    // Short strings in JavaScript, for the same reason as latin1() (the writer sends short text with a code unit
    // above 0xff as UTF-16 when that is no larger than UTF-8).
    if (units <= 16) return shortUtf16(this.buf, p, units);
    return this.nodeBuf.ucs2Slice(p, p + units * 2);
  }
}

const units: number[] = [];

/**
 * Decodes well-formed UTF-8 of at most 48 bytes in JavaScript (a call into Node costs more than the decoding);
 * null when the bytes are not well-formed (overlong forms, surrogates, truncated sequences...), which the
 * caller then leaves to Node, so every input decodes exactly as Node's decoder does.
 */
function shortUtf8(buf: Uint8Array, p: number, n: number): string | null {
  const end = p + n;
  let k = 0;
  while (p < end) {
    const b = buf[p++]!;
    if (b < 0x80) { units[k++] = b; continue; }
    if (b < 0xc2) return null;
    if (b < 0xe0) {
      if (p >= end) return null;
      const b1 = buf[p++]!;
      if ((b1 & 0xc0) !== 0x80) return null;
      units[k++] = ((b & 0x1f) << 6) | (b1 & 0x3f);
      continue;
    }
    if (b < 0xf0) {
      if (p + 1 >= end) return null;
      const b1 = buf[p++]!, b2 = buf[p++]!;
      if ((b1 & 0xc0) !== 0x80 || (b2 & 0xc0) !== 0x80) return null;
      const c = ((b & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) return null;
      units[k++] = c;
      continue;
    }
    if (b > 0xf4 || p + 2 >= end) return null;
    const b1 = buf[p++]!, b2 = buf[p++]!, b3 = buf[p++]!;
    if ((b1 & 0xc0) !== 0x80 || (b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) return null;
    const c = ((b & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
    if (c < 0x10000 || c > 0x10ffff) return null;
    units[k++] = 0xd800 | ((c - 0x10000) >> 10);
    units[k++] = 0xdc00 | (c & 0x3ff);
  }
  return fromUnits(units, k);
}

/** A string of `n` ≤ 16 UTF-16LE code units (lone surrogates included). */
function shortUtf16(b: Uint8Array, p: number, n: number): string {
  for (let i = 0; i < n; i++, p += 2) units[i] = b[p]! | (b[p + 1]! << 8);
  return fromUnits(units, n);
}

function fromUnits(u: number[], n: number): string {
  switch (n) {
    case 1: return StringFromCharCode(u[0]!);
    case 2: return StringFromCharCode(u[0]!, u[1]!);
    case 3: return StringFromCharCode(u[0]!, u[1]!, u[2]!);
    case 4: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!);
    case 5: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!);
    case 6: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!);
    case 7: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!);
    case 8: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!);
    case 9: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!);
    case 10: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!);
    case 11: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!);
    case 12: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!,
      u[8]!, u[9]!, u[10]!, u[11]!);
    case 13: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!,
      u[8]!, u[9]!, u[10]!, u[11]!, u[12]!);
    case 14: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!,
      u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!);
    case 15: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!,
      u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!, u[14]!);
    case 16: return StringFromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!,
      u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!, u[14]!, u[15]!);
    default:
      // Own elements 0..n-1 only: the argument list is read without consulting any prototype.
      u.length = n;
      return ReflectApply(StringFromCharCode, undefined, u) as string;
  }
}

/** A string of `n` ≤ 16 latin1 bytes, in one call. */
function shortString(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0: return '';
    case 1: return StringFromCharCode(b[p]!);
    case 2: return StringFromCharCode(b[p]!, b[p + 1]!);
    case 3: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    case 8: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    case 9: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!);
    case 10: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!);
    case 11: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!);
    case 12: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!);
    case 13: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!);
    case 14: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!);
    case 15: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!);
    default: return StringFromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!,
      b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!, b[p + 15]!);
  }
}

keepAlive(new ByteReader(new Uint8Array(8)));
