import { PikalaError } from './errors.js';
import type { DumpOptions } from './options.js';
import { Pickler } from '../pickler/pickler.js';
import { FLAGS_OFFSET, HeaderFlag } from '../format/header.js';
import { mac } from '../format/signature.js';
import { picklerHooks } from './hooks.js';
import { releaseProber } from '../code/probe.js';
import { releaseCaptures } from '../code/inspector.js';

/** Serializes `value` (and everything it reaches) into bytes that `loads` turns back into an equal graph. */
export function dumps(value: unknown, options?: DumpOptions): Uint8Array {
  const key = options?.key;
  let bytes: Uint8Array;
  try {
    bytes = new Pickler(picklerHooks()).dump(value);
  } catch (e) {
    releaseProber();
    releaseCaptures();
    if (e instanceof PikalaError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new PikalaError('PIKALA_UNSUPPORTED', 'the value is nested too deeply to serialize here', { cause: e });
    }
    throw e;
  }
  releaseCaptures();
  if (key === undefined) return bytes;
  bytes[FLAGS_OFFSET] = bytes[FLAGS_OFFSET]! | HeaderFlag.Signed;
  const signature = mac(key, bytes);
  const out = new Uint8Array(bytes.length + signature.length);
  out.set(bytes);
  out.set(signature, bytes.length);
  return out;
}
