/**
 * Shared setup of the data suites. Import it first.
 *
 * The suites used to run with --no-flush-bytecode, a workaround for a pikala bug fixed in da0e2fd (the V8
 * natives helpers, compiled with --allow-natives-syntax, broke when V8 flushed and recompiled their bytecode).
 * They now run with V8's defaults, so every suite also guards against that regression; known-bugs.test.mjs
 * reproduces it on purpose.
 */

/** Node flags for producer and consumer processes (none today; the hook stays for the suites that pass it). */
export const NODE_ARGS = [];

/** True when two byte arrays are equal. */
export function sameBytes(a, b) {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
