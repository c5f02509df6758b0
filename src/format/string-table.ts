/**
 * The recent-strings window that both sides of the format keep in step (docs/FORMAT.md, "strings").
 *
 * Every string a string record of the body produces (a literal, StrLatin1/StrUtf8/StrUtf16, or a StrRef) is
 * pushed on a window of the last 4096 such strings; `StrRef d` means the string pushed d pushes ago
 * (1 ≤ d ≤ 4096). The reader keeps the window as a ring: one store per string, no hashing (hashing every
 * string it reads cost the reader ~12 ns per string, 10% of decoding short strings). Which strings the writer
 * finds again is its own business, decided by a table private to the writer (StringIndex below): its hash,
 * its size and when it looks at all may change without a format change, and change only the output's size.
 * A reference re-pushes its string, so a string in steady use stays near the top of the window: small
 * distances (a 1-byte record up to 64 back, 2 bytes up to 127) and it is never pushed out by a stream of
 * other strings.
 */

/** How many strings back a StrRef may reach (a format constant). */
export const STRING_WINDOW = 4096;
const RING_MASK = STRING_WINDOW - 1;

/** Longer strings are cleared from the writer's table when a payload is done, so it never keeps a large text alive. */
const LONG_STRING = 128;
/**
 * String.prototype.charCodeAt called through Function.prototype.call: the optimizing compiler reduces it to a
 * character load for any string. `s.charCodeAt(i)` depends on the call site's feedback about string
 * representations instead: once a site has seen many (interned keys, cons, sliced, two-byte strings) the
 * method load goes generic and every character costs a full call (measured: (e) encode 2x slower after a
 * dump of (b)).
 */
export const charCodeAt = Function.prototype.call.bind(String.prototype.charCodeAt) as (s: string, i: number) => number;

/** The mix of a non-empty string's length and up to four of its code units (first, last, middle, next to last). */
function mixFour(s: string, n: number): number {
  let h = Math.imul(n, 0x9e3779b1) ^ charCodeAt(s, 0);
  h = Math.imul(h, 0x85ebca6b) ^ charCodeAt(s, n - 1);
  if (n > 2) {
    h = Math.imul(h, 0xc2b2ae35) ^ charCodeAt(s, n >> 1);
    h = Math.imul(h, 0x27d4eb2f) ^ charCodeAt(s, n - 2);
  }
  return h;
}

function finalMix(h: number): number {
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

/**
 * 32-bit hash of a non-empty string from its length and up to six of its code units. Not part of the format
 * (any more): pickler/shapes.ts uses it for its process-wide table of key lists.
 */
export function stringHash(s: string): number {
  const n = s.length;
  let h = mixFour(s, n);
  if (n > 4) {
    h = Math.imul(h, 0x165667b1) ^ charCodeAt(s, 1);
    h = Math.imul(h, 0x9e3779b1) ^ charCodeAt(s, n >> 2);
  }
  return finalMix(h);
}

/**
 * The reader's window: the last STRING_WINDOW strings, in a ring. The ring is a new array for every load:
 * storing each string just made into a long-lived (old-generation) array cost a write barrier and a
 * remembered-set entry per string (~6 ns, 7% of decoding (e)); a young array costs neither, grows only as far
 * as the payload has strings, and is dropped with the load (nothing to clear, nothing kept alive).
 */
export class StringRing {
  ring: (string | undefined)[] = [];
  /** Strings pushed during the current payload. */
  count = 0;
  busy = false;

  /** Takes `shared` (or a fresh ring when it is in use: a load inside a load), empty. */
  static take(shared: StringRing): StringRing {
    const t = shared.busy ? new StringRing() : shared;
    t.busy = true;
    t.ring = [];
    t.count = 0;
    return t;
  }

  push(s: string): string {
    // Up to STRING_WINDOW strings this appends (the index is the length); then it overwrites the oldest.
    this.ring[this.count & RING_MASK] = s;
    this.count++;
    return s;
  }

  /** The string pushed `d` pushes ago (pushed again), or undefined when the window holds no such string. */
  ref(d: number): string | undefined {
    const count = this.count;
    if (d < 1 || d > STRING_WINDOW || d > count) return undefined;
    const s = this.ring[(count - d) & RING_MASK]!;
    this.ring[count & RING_MASK] = s;
    this.count = count + 1;
    return s;
  }

  release(): void {
    this.ring = [];
    this.count = 0;
    this.busy = false;
  }
}

const INDEX_BITS = 12;
const INDEX_SLOTS = 1 << INDEX_BITS;
const INDEX_SHIFT = 32 - INDEX_BITS;
/** Consecutive misses after which the writer starts skipping lookups. */
const MISS_STREAK = 32;
/** The most strings skipped between two lookups. */
const MAX_SKIP = 64;

/**
 * The writer's side: where in the window each recently written string is, in a direct-mapped table keyed by a
 * cheap hash of four code units. A string that misses is written again, which changes size, never meaning.
 *
 * Stretches of strings that never repeat (ids, names, free text: payload (e) is nearly all of them) would pay a
 * hash and a table update per string for nothing, so after MISS_STREAK misses in a row the writer looks up only
 * one string in every `skip + 1`, `skip` growing with the streak up to MAX_SKIP; one hit returns to looking up
 * every string. The price is a few references missed where a rare repeat sits among many unique strings (each
 * costs its length in bytes). Deterministic: it depends on the strings written, nothing else.
 */
export class StringIndex {
  readonly slots: (string | undefined)[] = new Array(INDEX_SLOTS).fill(undefined);
  readonly hashes = new Int32Array(INDEX_SLOTS);
  /**
   * Each slot's position in the payload's count of pushed strings, valid when the slot's epoch is the payload's.
   * Small integers on purpose: with doubles (a count that never resets) the distances were doubles too.
   */
  readonly positions = new Int32Array(INDEX_SLOTS);
  readonly epochs = new Int32Array(INDEX_SLOTS);
  epoch = 0;
  /** Strings pushed during the current payload (the reader's count, looked up or not). */
  count = 0;
  /** Lookups that missed in a row, and how many strings to write before the next lookup. */
  misses = 0;
  skip = 0;
  busy = false;
  /** Slots given a long string during the current payload (cleared on release). */
  private readonly long: number[] = [];

  static take(shared: StringIndex): StringIndex {
    const t = shared.busy ? new StringIndex() : shared;
    t.busy = true;
    t.epoch = (t.epoch + 1) | 0;
    if (t.epoch === 0) { t.epochs.fill(-1); t.epoch = 1; }
    t.count = 0;
    t.misses = 0;
    t.skip = 0;
    return t;
  }

  /**
   * Pushes `s` (non-empty) on the window and returns its distance for a StrRef, or 0 when the caller must write
   * it as a literal.
   */
  find(s: string): number {
    const count = this.count;
    this.count = count + 1;
    if (this.skip !== 0) {
      this.skip--;
      return 0;
    }
    const n = s.length;
    // Four code units, not stringHash's six: cheaper, and the comparison below settles the rest.
    const h = finalMix(mixFour(s, n));
    const slot = h >>> INDEX_SHIFT;
    // The full hash filters out nearly every other string before a comparison of contents.
    if (this.hashes[slot] === h && this.epochs[slot] === this.epoch && this.slots[slot] === s) {
      const d = count - this.positions[slot]!;
      if (d <= STRING_WINDOW) {
        this.positions[slot] = count;
        this.misses = 0;
        return d;
      }
    }
    this.slots[slot] = s;
    this.hashes[slot] = h;
    this.positions[slot] = count;
    this.epochs[slot] = this.epoch;
    if (n > LONG_STRING) this.long[this.long.length] = slot;
    const misses = ++this.misses;
    if (misses >= MISS_STREAK) {
      const skip = misses - MISS_STREAK + 1;
      this.skip = skip < MAX_SKIP ? skip : MAX_SKIP;
    }
    return 0;
  }

  release(): void {
    const long = this.long;
    for (let i = 0; i < long.length; i++) this.slots[long[i]!] = undefined;
    long.length = 0;
    this.busy = false;
  }
}

/** The writers' and the readers' shared tables. */
export const WRITER_STRINGS = new StringIndex();
export const READER_STRINGS = new StringRing();
