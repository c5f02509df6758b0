/**
 * Payload header: magic, format version, flags and the producer's versions.
 *
 *   'P' 'K' 'L' 'A' | major u8 | minor u8 | flags u8 | varint n | n latin1 bytes of producer text
 *
 * The producer text ("pikala/0.1.0 node/v20.20.2 v8/11.3.244.8") exists for error messages: a receiver that
 * cannot read a payload says who wrote it.
 */
import { PikalaError, corrupt } from '../api/errors.js';
import type { ByteReader } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';

export const MAGIC = [0x50, 0x4b, 0x4c, 0x41] as const;
/**
 * 2: strings referenced by distance in a window, one-byte string tags, short UTF-16 strings, and the buffer
 * record's `at` field (format 1 referenced strings by table slot: a reader of one misreads the other).
 */
export const FORMAT_MAJOR = 2;
export const FORMAT_MINOR = 0;
export const PIKALA_VERSION = '0.1.0';

export const enum HeaderFlag {
  Signed = 1,
  HasCode = 2,
}

export const FLAGS_OFFSET = 6;
export const SIGNATURE_LENGTH = 32;

export const PRODUCER = `pikala/${PIKALA_VERSION} node/${process.version} v8/${process.versions.v8}`;

export interface Header {
  major: number;
  minor: number;
  flags: number;
}

/** The header with flags 0, made once: writing it byte by byte was a fifth of a small dumps. */
const HEADER = ((): Uint8Array => {
  const bytes = [...MAGIC, FORMAT_MAJOR, FORMAT_MINOR, 0];
  // The producer text is ASCII and shorter than 128 characters: its length is a one-byte varint.
  if (PRODUCER.length > 127) throw new Error('pikala internal error: producer text too long');
  bytes.push(PRODUCER.length);
  for (let i = 0; i < PRODUCER.length; i++) bytes.push(PRODUCER.charCodeAt(i) & 0xff);
  return new Uint8Array(bytes);
})();

export function writeHeader(w: ByteWriter, flags: number): void {
  const at = w.pos;
  w.bytes(HEADER);
  w.buf[at + FLAGS_OFFSET] = flags;
}

/** Reads and checks the header; the producer text is skipped (it is decoded only for an error message). */
export function readHeader(r: ByteReader): Header {
  if (r.remaining < MAGIC.length + 3) throw corrupt(`${r.remaining} bytes is too short for a header`);
  for (let i = 0; i < MAGIC.length; i++) {
    const b = MAGIC[i];
    if (r.u8() !== b) throw corrupt('wrong magic bytes (this is not pikala output)');
  }
  const major = r.u8();
  const minor = r.u8();
  const flags = r.u8();
  const n = r.count();
  if (n > 256) throw corrupt('producer text too long');
  const producerAt = r.pos;
  r.bytes(n);
  if (major !== FORMAT_MAJOR || minor > FORMAT_MINOR) {
    r.pos = producerAt;
    const producer = r.latin1(n) || 'an unknown producer';
    // A newer minor adds records or fields this reader would misread: say so instead of failing half-way.
    throw new PikalaError('PIKALA_VERSION', major !== FORMAT_MAJOR
      ? `payload uses format ${major}.${minor} (written by ${producer}); this pikala ${PIKALA_VERSION} reads ` +
        `format ${FORMAT_MAJOR}.x. Load it with a pikala release that reads format ${major}, or dump it again ` +
        'with this one.'
      : `payload uses format ${major}.${minor} (written by ${producer}); this pikala ${PIKALA_VERSION} reads ` +
        `format ${FORMAT_MAJOR}.0 to ${FORMAT_MAJOR}.${FORMAT_MINOR}. Load it with the newer pikala, or dump it ` +
        'again with this one.');
  }
  if ((flags & ~(HeaderFlag.Signed | HeaderFlag.HasCode)) !== 0) throw corrupt(`unknown header flags ${flags}`);
  return { major, minor, flags };
}
