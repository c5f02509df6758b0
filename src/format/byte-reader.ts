/**
 * Bounds-checked reads over a payload. Every length is checked against the bytes that remain, so a short
 * payload can never make the reader allocate more than it holds; every failure is a PIKALA_CORRUPT error.
 */
import { Buffer } from 'node:buffer';
import { corrupt } from '../api/errors.js';
import { StringFromCharCode } from '../util/primordials.js';
import { keepAlive } from '../util/keep-alive.js';

export class ByteReader {
  readonly buf: Uint8Array;
  private readonly nodeBuf: Buffer;
  private readonly view: DataView;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.nodeBuf = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.pos = start;
    this.end = end;
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
    if (this.pos + 6 > this.end) throw corrupt('unexpected end of data');
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint16(this.pos + 4, true);
    this.pos += 6;
    return hi * 0x100000000 + lo;
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
    const buf = this.buf;
    const p = this.pos;
    this.pos = p + n;
    if (n < 16) {
      switch (n) {
        case 1: return StringFromCharCode(buf[p]!);
        case 2: return StringFromCharCode(buf[p]!, buf[p + 1]!);
        case 3: return StringFromCharCode(buf[p]!, buf[p + 1]!, buf[p + 2]!);
        case 4: return StringFromCharCode(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!);
        default: {
          let s = '';
          for (let i = p; i < p + n; i++) s += StringFromCharCode(buf[i]!);
          return s;
        }
      }
    }
    return this.nodeBuf.latin1Slice(p, p + n);
  }

  utf8(n: number): string {
    if (n > this.end - this.pos) throw corrupt(`string of ${n} bytes announced, ${this.end - this.pos} remain`);
    const p = this.pos;
    this.pos = p + n;
    return this.nodeBuf.utf8Slice(p, p + n);
  }

  utf16(units: number): string {
    if (units * 2 > this.end - this.pos) throw corrupt(`string of ${units} code units announced, ${this.end - this.pos} bytes remain`);
    const p = this.pos;
    this.pos = p + units * 2;
    return this.nodeBuf.ucs2Slice(p, p + units * 2);
  }
}

keepAlive(new ByteReader(new Uint8Array(8)));
