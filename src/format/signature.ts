/**
 * Optional HMAC-SHA256 trailer over header and body. Verification happens before a single byte of the body
 * is interpreted, so a tampered or foreign payload runs nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PikalaError } from '../api/errors.js';
import { SIGNATURE_LENGTH } from './header.js';

export type Key = string | Uint8Array;

function keyBytes(key: Key): Uint8Array {
  if (typeof key === 'string') return new TextEncoder().encode(key);
  if (key instanceof Uint8Array) return key;
  throw new PikalaError('PIKALA_SIGNATURE', 'key must be a string or a Uint8Array');
}

export function mac(key: Key, data: Uint8Array): Uint8Array {
  const k = keyBytes(key);
  if (k.length === 0) throw new PikalaError('PIKALA_SIGNATURE', 'key must not be empty');
  return createHmac('sha256', k).update(data).digest();
}

export function verify(key: Key, signed: Uint8Array, signature: Uint8Array): boolean {
  const expected = mac(key, signed);
  return signature.length === SIGNATURE_LENGTH && timingSafeEqual(expected, signature);
}
