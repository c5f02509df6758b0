/**
 * Shared setup of the data suites. Import it first.
 *
 * WORKAROUND for a pikala bug (see known-bugs.test.mjs): the V8 natives helpers (src/util/natives.ts, formerly
 * src/pickler/v8-maps.ts) are compiled with --allow-natives-syntax switched on only for the moment of
 * compiling. When V8 later flushes their bytecode (after a few GCs in which they did not run) and recompiles
 * them, the flag is off and every dumps of a plain object throws "SyntaxError: Unexpected token '%'". The
 * data suites keep bytecode (in this process, and in the producer/consumer processes through NODE_ARGS) so
 * that they test everything else; known-bugs.test.mjs reproduces the bug itself without the workaround.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--no-flush-bytecode');

/** Node flags for producer and consumer processes (same workaround). */
export const NODE_ARGS = ['--no-flush-bytecode'];

/** True when two byte arrays are equal. */
export function sameBytes(a, b) {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
