import { PikalaError, corrupt } from './errors.js';
import type { LoadOptions } from './options.js';
import { ByteReader } from '../format/byte-reader.js';
import { HeaderFlag, SIGNATURE_LENGTH, readHeader } from '../format/header.js';
import { verify } from '../format/signature.js';
import { Unpickler } from '../pickler/unpickler.js';
import { unpicklerHooks } from './hooks.js';

/** Rebuilds the value that `dumps` serialized. Only load payloads you trust unless `allowCode` is false. */
export function loads<T = unknown>(data: Uint8Array, options?: LoadOptions): T {
  if (!(data instanceof Uint8Array)) {
    throw new PikalaError('PIKALA_CORRUPT', 'loads expects a Uint8Array (or Buffer) produced by dumps');
  }
  const allowCode = options?.allowCode !== false;
  const header = new ByteReader(data);
  const { flags } = readHeader(header);
  let end = data.length;
  if (flags & HeaderFlag.Signed) {
    if (data.length < header.pos + SIGNATURE_LENGTH) throw corrupt('signature trailer is missing');
    end = data.length - SIGNATURE_LENGTH;
  }
  if (options?.key !== undefined) {
    if (!(flags & HeaderFlag.Signed)) {
      throw new PikalaError('PIKALA_SIGNATURE', 'a key was given but the payload is not signed; refusing to load it');
    }
    if (!verify(options.key, data.subarray(0, end), data.subarray(end))) {
      throw new PikalaError('PIKALA_SIGNATURE', 'the payload signature does not match the key; refusing to load it');
    }
  }
  if (!allowCode && (flags & HeaderFlag.HasCode)) {
    throw new PikalaError('PIKALA_CODE_REFUSED',
      'the payload holds code (functions, classes or module references) and loads was called with ' +
      'allowCode: false; load it only if you trust its producer');
  }
  const u = new Unpickler(data, header.pos, end, { allowCode, hooks: unpicklerHooks(options), options });
  try {
    return u.load() as T;
  } catch (e) {
    if (e instanceof PikalaError) throw e;
    throw new PikalaError('PIKALA_CORRUPT', `not a valid pikala payload: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}
