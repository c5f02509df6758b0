/**
 * The recent-strings table that both sides of the format keep in step (docs/FORMAT.md, "strings").
 *
 * Every string written as a literal (tags StrLatin1, StrUtf8, StrUtf16) is stored in slot
 * `slotOf(stringHash(s))` of a
 * direct-mapped table of 4096 slots, replacing what was there; `StrRef slot` means the string now in that slot.
 * The writer looks a string up before writing it and writes a reference when the slot holds it. The reader
 * computes the same slot for each literal it reads and stores it there: it needs no growing list of every
 * string (a push per string, and a reference to each for the whole load), and a reference is at most 2 bytes.
 *
 * The hash reads at most six code units (so it costs the same for any length) and must never change without
 * a format version change: it decides which references are valid.
 */

/** Longer strings are cleared from the table when a payload is done, so it never keeps a large text alive. */
const LONG_STRING = 128;
/**
 * String.prototype.charCodeAt called through Function.prototype.call: the optimizing compiler reduces it to a
 * character load for any string. `s.charCodeAt(i)` depends on the call site's feedback about string
 * representations instead: once a site has seen many (interned keys, cons, sliced, two-byte strings) the
 * method load goes generic and every character costs a full call (measured: (e) encode 2x slower after a
 * dump of (b)).
 */
export const charCodeAt = Function.prototype.call.bind(String.prototype.charCodeAt) as (s: string, i: number) => number;

export const STRING_SLOT_BITS = 12;
export const STRING_SLOTS = 1 << STRING_SLOT_BITS;
const SLOT_SHIFT = 32 - STRING_SLOT_BITS;

/** 32-bit hash of a non-empty string from its length and up to six of its code units. */
export function stringHash(s: string): number {
  const n = s.length;
  let h = Math.imul(n, 0x9e3779b1) ^ charCodeAt(s, 0);
  h = Math.imul(h, 0x85ebca6b) ^ charCodeAt(s, n - 1);
  if (n > 2) {
    h = Math.imul(h, 0xc2b2ae35) ^ charCodeAt(s, n >> 1);
    h = Math.imul(h, 0x27d4eb2f) ^ charCodeAt(s, n - 2);
    if (n > 4) {
      h = Math.imul(h, 0x165667b1) ^ charCodeAt(s, 1);
      h = Math.imul(h, 0x9e3779b1) ^ charCodeAt(s, n >> 2);
    }
  }
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

/** The slot of a string whose hash is `h`. */
export function slotOf(h: number): number {
  return h >>> SLOT_SHIFT;
}

/**
 * One table, reused across payloads (allocating and clearing 4096 slots would cost more than a small payload):
 * a slot is valid only when its epoch is the current payload's. A nested use (a dump inside a dump, a load
 * inside a load) gets a table of its own.
 */
export class StringTable {
  readonly slots: (string | undefined)[] = new Array(STRING_SLOTS).fill(undefined);
  /** The writer's full hash of each slot's string: a cheap filter before comparing strings. */
  readonly hashes = new Int32Array(STRING_SLOTS);
  readonly epochs = new Int32Array(STRING_SLOTS);
  epoch = 0;
  busy = false;
  /** Slots given a long string during the current payload (cleared on release). */
  private readonly long: number[] = [];

  /** Takes `shared` (or a fresh table when it is in use), starting a new epoch. */
  static take(shared: StringTable): StringTable {
    const t = shared.busy ? new StringTable() : shared;
    t.busy = true;
    t.epoch = (t.epoch + 1) | 0;
    if (t.epoch === 0) { t.epochs.fill(-1); t.epoch = 1; }
    return t;
  }

  /** Puts `s` (hash `h`) in its slot. */
  set(s: string, h: number): void {
    const slot = h >>> SLOT_SHIFT;
    this.slots[slot] = s;
    this.hashes[slot] = h;
    this.epochs[slot] = this.epoch;
    if (s.length > LONG_STRING) this.long[this.long.length] = slot;
  }

  release(): void {
    const long = this.long;
    for (let i = 0; i < long.length; i++) this.slots[long[i]!] = undefined;
    long.length = 0;
    this.busy = false;
  }
}

/** The writers' and the readers' shared tables. */
export const WRITER_STRINGS = new StringTable();
export const READER_STRINGS = new StringTable();

