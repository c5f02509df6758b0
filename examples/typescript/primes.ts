// The pool from TypeScript: typed closures, a class instance and typed errors.
//
//   npm run build && npx tsc -p examples/typescript && node examples/typescript/dist/primes.js
//
// Counts primes and twin primes below 20 million in blocks, on every core. The shipped closure captures a
// configuration object, a helper function and an instance of a class with private state; pikala ships the
// compiled JavaScript (what V8 runs), so TypeScript needs nothing special.
import { Pool, PikalaError } from 'pikala';

interface Block { from: number; to: number }
interface BlockCount { from: number; primes: number; twins: number; largest: number }

const settings = { limit: 20_000_000, blockSize: 500_000 } as const;

/** Small primes up to √limit, computed once here and shipped with the closure. */
class BasePrimes {
  readonly #primes: Uint32Array;
  constructor(upTo: number) {
    const composite = new Uint8Array(upTo + 1);
    const found: number[] = [];
    for (let i = 2; i <= upTo; i++) {
      if (composite[i]) continue;
      found.push(i);
      for (let j = i * i; j <= upTo; j += i) composite[j] = 1;
    }
    this.#primes = Uint32Array.from(found);
  }
  get list(): Uint32Array { return this.#primes; }
}

const base = new BasePrimes(Math.ceil(Math.sqrt(settings.limit)) + 1);

/** A helper: the first multiple of p that is ≥ from and ≥ p². */
const firstMultiple = (p: number, from: number): number => Math.max(p * p, Math.ceil(from / p) * p);

/** The shipped closure: a segmented sieve over one block (the extra 2 numbers catch twins across blocks). */
const countBlock = ({ from, to }: Block): BlockCount => {
  const end = Math.min(to + 2, settings.limit);
  const composite = new Uint8Array(end - from);
  for (const p of base.list) {
    if (p * p >= end) break;
    for (let m = firstMultiple(p, from); m < end; m += p) composite[m - from] = 1;
  }
  let primes = 0, twins = 0, largest = 0;
  for (let n = Math.max(from, 2); n < to; n++) {
    if (composite[n - from]) continue;
    primes++;
    largest = n;
    if (n + 2 < end && !composite[n + 2 - from]) twins++;
  }
  return { from, primes, twins, largest };
};

const blocks: Block[] = [];
for (let from = 0; from < settings.limit; from += settings.blockSize) {
  blocks.push({ from, to: Math.min(from + settings.blockSize, settings.limit) });
}

const pool = new Pool();
try {
  const t0 = performance.now();
  const counts: BlockCount[] = await pool.map(countBlock, blocks, {
    onProgress: (done, total) => { if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} blocks`); },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const primes = counts.reduce((n, c) => n + c.primes, 0);
  const twins = counts.reduce((n, c) => n + c.twins, 0);
  console.log(`primes below ${settings.limit}: ${primes} (twin pairs: ${twins}, largest: ${counts.at(-1)!.largest})`);
  console.log(`${pool.size} workers, ${(performance.now() - t0).toFixed(0)} ms`);

  // Typed failures: a timeout is a PikalaError with a code.
  const spin = (ms: number): number => { const end = Date.now() + ms; while (Date.now() < end); return ms; };
  try {
    await pool.exec(spin, [5_000], { timeout: 200 });
  } catch (e) {
    if (e instanceof PikalaError && e.code === 'PIKALA_TIMEOUT') console.log(`timeout: ${e.message}`);
    else throw e;
  }
} finally {
  await pool.close();
}
