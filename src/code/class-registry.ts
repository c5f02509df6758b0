/**
 * Class identity across payloads. Every class shipped by value gets an id when first dumped in a process:
 * a hash of its source text plus a counter (deterministic for a given program). A receiving process keeps
 * one class per id, so instances from several payloads share one class and `instanceof` holds; in the
 * producing process the id maps back to the original, so `loads(dumps(C)) === C`.
 *
 * Semantics chosen deliberately (cloudpickle users complain that class state is re-applied on each load):
 * the first load of a class defines it in the receiving process; later payloads reuse that class as it is
 * now, and their copy of its static state and prototype is read but not applied.
 *
 * Exception: an object can receive a class's #private fields and brand only from that class's own
 * constructor. In the producing process the original class has no restore guard, so a class with private
 * names gets a twin there (built from its text like anywhere else), registered under the same id.
 *
 * The state lives on a global symbol so that the ES module and CommonJS copies of pikala share it.
 */
const STATE_KEY = Symbol.for('pikala.classes.v1');

interface Entry {
  ref: WeakRef<Function>;
  /** The class was defined by the program (not rebuilt by pikala). */
  original: boolean;
}

interface State {
  ids: WeakMap<Function, string>;
  byId: Map<string, Entry>;
  counters: Map<string, number>;
  /** Twins built in the producing process for original classes with private names. */
  twins: Map<string, WeakRef<Function>>;
}

function state(): State {
  const g = globalThis as Record<symbol, State | undefined>;
  return (g[STATE_KEY] ??= { ids: new WeakMap(), byId: new Map(), counters: new Map(), twins: new Map() });
}

/**
 * The class's id, assigned at its first dump in this process: its text, the primitive values its scopes
 * held then (two producers' classes that differ only by a captured setting get different ids), and a
 * counter of same-looking classes in this process. Deterministic for a given program.
 */
export function classIdOf(cls: Function, text: string, scopeValues: readonly unknown[] = []): string {
  const s = state();
  let id = s.ids.get(cls);
  if (id !== undefined) return id;
  let digest = text;
  for (const v of scopeValues) digest += '\u0000' + (v === null || typeof v === 'object' || typeof v === 'function' ? typeof v : typeof v === 'symbol' ? 'symbol' : String(v) + typeof v);
  const base = hash(digest);
  const n = s.counters.get(base) ?? 0;
  s.counters.set(base, n + 1);
  id = `${base}.${n}`;
  s.ids.set(cls, id);
  s.byId.set(id, { ref: new WeakRef(cls), original: true });
  return id;
}

/** The class this process already has for `id`, if any, and whether it is the program's original. */
export function knownClass(id: string): { cls: Function; original: boolean } | undefined {
  const e = state().byId.get(id);
  const cls = e?.ref.deref();
  return cls === undefined ? undefined : { cls, original: e!.original };
}

export function twinClass(id: string): Function | undefined {
  return state().twins.get(id)?.deref();
}

/** Records a class rebuilt by pikala under the id it was shipped with. */
export function registerLoadedClass(id: string, cls: Function, twin: boolean): void {
  const s = state();
  s.ids.set(cls, id);
  if (twin) s.twins.set(id, new WeakRef(cls));
  else s.byId.set(id, { ref: new WeakRef(cls), original: false });
}

function hash(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}
