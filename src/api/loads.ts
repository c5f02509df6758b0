import { PikalaError, corrupt } from './errors.js';
import type { LoadOptions } from './options.js';
import { ByteReader } from '../format/byte-reader.js';
import { FLAGS_OFFSET, HeaderFlag, SIGNATURE_LENGTH, readHeader } from '../format/header.js';
import { verify } from '../format/signature.js';
import { Unpickler } from '../pickler/unpickler.js';
import { unpicklerHooks } from './hooks.js';
import { TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetLength, isSharedArrayBuffer } from '../util/primordials.js';

/** Rebuilds the value that `dumps` serialized. Only load payloads you trust unless `allowCode` is false. */
export function loads<T = unknown>(data: Uint8Array, options?: LoadOptions): T {
  if (!(data instanceof Uint8Array)) {
    throw new PikalaError('PIKALA_CORRUPT', 'loads expects a Uint8Array (or Buffer) produced by dumps');
  }
  const key = options?.key;
  const allowCodeOption = options?.allowCode;
  // Fail closed: only an explicit `true` (or leaving the option out) lets code load; `allowCode: 'false'`,
  // `0` or `null` mean data only.
  const allowCode = allowCodeOption === undefined || allowCodeOption === true;
  if (key !== undefined) {
    // Bytes another thread can write could change between verification and reading: verify a private copy.
    if (isSharedArrayBuffer(TypedArrayPrototypeGetBuffer(data))) {
      const copy = new Uint8Array(data.length);
      copy.set(data);
      data = copy;
    }
    // The signature is checked first, over the raw bytes: nothing of the payload — not even its header — is
    // interpreted before it is known to come from a holder of the key.
    checkSignature(data, key);
  }
  const reader = new ByteReader(data);
  const { flags } = readHeader(reader);
  const length = TypedArrayPrototypeGetLength(data);
  let end = length;
  if (flags & HeaderFlag.Signed) {
    if (length < reader.pos + SIGNATURE_LENGTH) throw corrupt('signature trailer is missing');
    end = length - SIGNATURE_LENGTH;
    reader.end = end;
  }
  if (key !== undefined && !(flags & HeaderFlag.Signed)) {
    // Verified bytes that do not say they are signed: only the key's holder can have made them; refuse anyway.
    throw new PikalaError('PIKALA_SIGNATURE', 'a key was given but the payload is not signed; refusing to load it');
  }
  if (!allowCode && (flags & HeaderFlag.HasCode)) {
    throw new PikalaError('PIKALA_CODE_REFUSED',
      'the payload holds code (functions, classes or module references) and loads was called with ' +
      'allowCode: false; load it only if you trust its producer');
  }
  const zeroCopy = options?.zeroCopy === true;
  const u = new Unpickler(reader, { allowCode, zeroCopy, hooks: unpicklerHooks(options), options });
  try {
    return u.load() as T;
  } catch (e) {
    if (e instanceof PikalaError) throw e;
    throw new PikalaError('PIKALA_CORRUPT', `not a valid pikala payload: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/**
 * Verifies the HMAC-SHA256 trailer (the last 32 bytes) over everything before it. Throws PIKALA_SIGNATURE when
 * the payload is unsigned, truncated or tampered with, or was signed with another key.
 */
function checkSignature(data: Uint8Array, key: string | Uint8Array): void {
  // The smallest signed payload: magic, version, flags, an empty producer text, End, and the trailer.
  const signed = data.length > FLAGS_OFFSET && (data[FLAGS_OFFSET]! & HeaderFlag.Signed) !== 0;
  if (data.length >= FLAGS_OFFSET + 3 + SIGNATURE_LENGTH) {
    const end = data.length - SIGNATURE_LENGTH;
    if (verify(key, data.subarray(0, end), data.subarray(end))) return;
  } else {
    verify(key, data, new Uint8Array(0)); // still validates the key (type, not empty)
  }
  throw new PikalaError('PIKALA_SIGNATURE', signed
    ? 'the payload signature does not match the key (wrong key, or the payload was altered); refusing to load it'
    : 'a key was given but the payload is not signed; refusing to load it');
}
