/**
 * Symbols: registered ones (`Symbol.for`) travel by key, well-known ones (`Symbol.iterator`) by name, and
 * unique ones by description, memoized so one symbol used twice in a graph is one symbol after load.
 * The records themselves are written by the pickler core (Tag.Symbol*); this file holds the tables.
 */
import { SafeMap } from '../util/primordials.js';
const names: [string, symbol][] = [];
for (const name of Object.getOwnPropertyNames(Symbol)) {
  const v = (Symbol as unknown as Record<string, unknown>)[name];
  if (typeof v === 'symbol') names.push([name, v]);
}

/** Symbol.iterator → 'iterator', ... */
export const WELL_KNOWN_SYMBOL_NAMES: ReadonlyMap<symbol, string> = new SafeMap(names.map(([n, s]) => [s, n]));
/** 'iterator' → Symbol.iterator, ... */
export const WELL_KNOWN_SYMBOLS: ReadonlyMap<string, symbol> = new SafeMap(names);
