/**
 * V8 runtime functions pikala uses, compiled once with the natives syntax.
 *
 * Hidden-class identity is the fast path that lets pikala check property attributes in O(1).
 *
 * `dumps` must never call a getter and must keep every property attribute, so it cannot read an object's
 * properties before it knows they are plain data properties. Checking descriptors one by one costs 40–100 ns
 * per property, and there is no JavaScript API that lists an array's named properties without listing every
 * index. V8 already knows the answer: objects with the same hidden class (map) have the same named
 * properties with the same attributes, prototype, extensibility and elements kind. `%HaveSameMap` compares
 * two maps in ~15 ns, so pikala verifies one reference object per shape and compares the others to it.
 *
 * The natives syntax is switched on only while two tiny helpers are compiled, then switched off again (unless
 * the process already had it). Set PIKALA_NO_NATIVES=1 to skip this: every check then takes the exact, slower
 * descriptor path. Results never depend on which path runs.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface MapHelpers {
  sameMap(a: object, b: object): boolean;
  hasFastProperties(o: object): boolean;
  hasDictionaryElements(o: object): boolean;
  /** The full text of the script that defined `fn` (undefined for built-ins). */
  scriptSource(fn: Function): string | undefined;
  /** The offset of `fn`'s definition in that script. */
  scriptPosition(fn: Function): number;
}

function make(): MapHelpers {
  return {
    sameMap: vm.compileFunction('return %HaveSameMap(a, b)', ['a', 'b']) as MapHelpers['sameMap'],
    hasFastProperties: vm.compileFunction('return %HasFastProperties(o)', ['o']) as MapHelpers['hasFastProperties'],
    hasDictionaryElements: vm.compileFunction('return %HasDictionaryElements(o)', ['o']) as MapHelpers['hasDictionaryElements'],
    scriptSource: vm.compileFunction('return %FunctionGetScriptSource(f)', ['f']) as MapHelpers['scriptSource'],
    scriptPosition: vm.compileFunction('return %FunctionGetScriptSourcePosition(f)', ['f']) as MapHelpers['scriptPosition'],
  };
}

/** Compiles the helpers, switching the natives syntax on for the duration if the process does not have it. */
function makeWithFlag(): MapHelpers {
  try {
    return make();
  } catch {
    v8.setFlagsFromString('--allow-natives-syntax');
    try { return make(); } finally { v8.setFlagsFromString('--no-allow-natives-syntax'); }
  }
}

function compile(): MapHelpers | null {
  if (process.env.PIKALA_NO_NATIVES === '1') return null;
  let helpers: MapHelpers;
  try {
    helpers = makeWithFlag();
  } catch {
    return null;
  }
  // Trust the helpers only if they answer as V8 documents them.
  try {
    const a = { x: 1, y: 2 }, b = { x: 3, y: 4 }, c = { y: 1, x: 2 };
    const d = { x: 1, y: 2 };
    Object.defineProperty(d, 'y', { enumerable: false });
    if (!helpers.sameMap(a, b) || helpers.sameMap(a, c) || helpers.sameMap(a, d)) return null;
    if (!helpers.hasFastProperties(a) || helpers.hasDictionaryElements([1])) return null;
  } catch {
    return null;
  }
  return helpers;
}

let raw: MapHelpers | null = compile();

/**
 * V8 flushes the bytecode of functions that have not run for a while and recompiles them on their next
 * call, with the flags of that moment: by then the natives syntax is off, so the call throws a SyntaxError.
 * Each helper recompiles (with the flag on again) and retries when that happens.
 */
function again<T>(e: unknown, call: () => T): T {
  if (!(e instanceof SyntaxError)) throw e;
  raw = makeWithFlag();
  return call();
}

export const maps: MapHelpers | null = raw === null ? null : {
  sameMap(a, b) { try { return raw!.sameMap(a, b); } catch (e) { return again(e, () => raw!.sameMap(a, b)); } },
  hasFastProperties(o) { try { return raw!.hasFastProperties(o); } catch (e) { return again(e, () => raw!.hasFastProperties(o)); } },
  hasDictionaryElements(o) { try { return raw!.hasDictionaryElements(o); } catch (e) { return again(e, () => raw!.hasDictionaryElements(o)); } },
  scriptSource(f) { try { return raw!.scriptSource(f); } catch (e) { return again(e, () => raw!.scriptSource(f)); } },
  scriptPosition(f) { try { return raw!.scriptPosition(f); } catch (e) { return again(e, () => raw!.scriptPosition(f)); } },
};

/**
 * Arrays in each fast elements kind, created by literals: their maps are the realm's initial array maps,
 * which carry no named property besides `length`, default element attributes, Array.prototype and
 * extensibility. An array with the same map is a plain array; a packed one has no holes.
 */
export const PACKED_ARRAY_REFS: readonly object[] = [[0], [0.5], ['x']];
export const HOLEY_ARRAY_REFS: readonly object[] = [[0, , 0], [0.5, , 0.5], ['x', , 'x']]; // eslint-disable-line no-sparse-arrays
