/**
 * Reads what a function captured, through a same-thread `node:inspector` session.
 *
 * The session is synchronous on the thread that owns it: `post` runs its callback before returning, so
 * capture needs no async API. Reading a function's `[[Scopes]]` internal property and calling a function on
 * the scope list materialises it in our realm: an array of `{ description, object }` entries, innermost
 * first, whose `object`s hold the live values of each scope's context-allocated variables (objects keep
 * their identity). The Global scope is never enumerated (126+ properties; globals are resolved directly).
 * Every capture releases its object group, or the inspector would keep everything alive.
 */
import inspector from 'node:inspector';
import { PikalaError } from '../api/errors.js';

export interface ScopeInfo {
  /** Closure, Block, Catch, With Block, Script, Module, Eval, Global. */
  type: string;
  /** The function name V8 shows in parentheses (best effort). */
  name: string;
  /** Live values of the scope's context-allocated variables; null for Global. */
  vars: Record<string, unknown> | null;
}

export interface FunctionCapture {
  scriptId: string;
  line: number;
  column: number;
  scopes: ScopeInfo[];
  /** For bound functions. */
  bound?: { target: Function; thisArg: unknown; args: unknown[] };
  /** Private members listed by the inspector (static privates of classes). */
  privates?: PrivateEntry[];
}

export interface PrivateEntry {
  name: string;
  value?: unknown;
  get?: unknown;
  set?: unknown;
}

const SLOT = Symbol.for('pikala.inspector.slot');
const REALM = Symbol.for('pikala.inspector.realm');
const GROUP = 'pikala-capture';
const SCOPE_DESCRIPTION = /^(With Block|Closure|Block|Catch|Script|Module|Global|Eval|Local|Class|Function)(?: \((.*)\))?$/s;

type Slot = { [SLOT]?: unknown; [REALM]?: string };

class Session {
  private readonly session: inspector.Session;
  private result: unknown;
  private error: Error | null = null;
  private readonly callback = (err: Error | null, res: unknown) => { this.error = err; this.result = res; };
  /** Execution context whose global is ours (differs from the default one under jest / vm test runners). */
  private contextId: number | undefined;
  /** Remote objects are held until the end of the dump. */
  dirty = false;

  constructor() {
    this.session = new inspector.Session();
    try {
      this.session.connect();
    } catch (e) {
      throw new PikalaError('PIKALA_CAPTURE',
        'cannot read closures: node:inspector is not available in this process ' +
        `(${(e as Error).message}). It is blocked by --experimental-permission; run without it to dump functions.`,
        { cause: e });
    }
  }

  post<T>(method: string, params: object): T {
    this.result = undefined;
    this.error = null;
    this.session.post(method, params, this.callback);
    if (this.error !== null) throw new Error(`${method}: ${(this.error as Error).message}`);
    if (this.result === undefined) throw new Error(`${method}: no synchronous reply`);
    return this.result as T;
  }

  /** A remote object id for `value`, in the realm that owns pikala. */
  remoteId(value: unknown): string {
    const g = globalThis as Slot;
    g[SLOT] = value;
    try {
      const params: Record<string, unknown> = {
        expression: `globalThis[Symbol.for('pikala.inspector.slot')]`, objectGroup: GROUP, silent: true,
      };
      if (this.contextId !== undefined) params.contextId = this.contextId;
      let r = this.post<{ result: { objectId?: string } }>('Runtime.evaluate', params).result;
      if (r.objectId === undefined && this.contextId === undefined) {
        this.contextId = this.discoverRealm();
        if (this.contextId !== undefined) {
          params.contextId = this.contextId;
          r = this.post<{ result: { objectId?: string } }>('Runtime.evaluate', params).result;
        }
      }
      if (r.objectId === undefined) throw new Error('the inspector cannot see pikala\'s realm');
      return r.objectId;
    } finally {
      g[SLOT] = undefined;
    }
  }

  /** Finds the execution context whose global object is ours (test runners that use vm contexts). */
  private discoverRealm(): number | undefined {
    const token = Math.random().toString(36).slice(2);
    (globalThis as Slot)[REALM] = token;
    const contexts: { id: number }[] = [];
    const onCreated = (m: { params: { context: { id: number } } }) => contexts.push(m.params.context);
    this.session.on('Runtime.executionContextCreated', onCreated);
    try {
      this.post('Runtime.enable', {});
      this.post('Runtime.disable', {});
    } finally {
      this.session.off('Runtime.executionContextCreated', onCreated);
    }
    for (const c of contexts) {
      const r = this.post<{ result: { value?: unknown } }>('Runtime.evaluate', {
        expression: `globalThis[Symbol.for('pikala.inspector.realm')]`, contextId: c.id, returnByValue: true, silent: true,
      });
      if (r.result.value === token) return c.id;
    }
    return undefined;
  }

  /** Materialises a remote object in our realm (by calling a function on it that stores `this`). */
  materialize(objectId: string): unknown {
    const g = globalThis as Slot;
    this.post('Runtime.callFunctionOn', {
      objectId,
      functionDeclaration: `function () { 'use strict'; globalThis[Symbol.for('pikala.inspector.slot')] = this; }`,
      silent: true,
    });
    const v = g[SLOT];
    g[SLOT] = undefined;
    return v;
  }

  release(): void {
    this.post('Runtime.releaseObjectGroup', { objectGroup: GROUP });
  }

  on(event: string, listener: (m: never) => void): void {
    this.session.on(event, listener as never);
  }

  off(event: string, listener: (m: never) => void): void {
    this.session.off(event, listener as never);
  }
}

/**
 * The source of a script, through the Debugger domain (used only when V8 natives are unavailable: enabling
 * the debugger costs ~30 ms, so it is switched on for the lookup and off again).
 */
export function scriptSourceById(scriptId: string): string | undefined {
  const s = getSession();
  try {
    s.post('Debugger.enable', {});
    try {
      return s.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId }).scriptSource;
    } finally {
      s.post('Debugger.disable', {});
    }
  } catch {
    return undefined;
  }
}

const scriptUrls = new Map<string, string>();

/**
 * The URL (file:// or node:) of a script by id (undefined when it has none).
 *
 * Enabling the Debugger replays a scriptParsed event for every script of the process (~30 ms in a fresh
 * one), so the Profiler's best-effort coverage is asked first: one reply that lists, with the same URLs, every
 * script that has a live function that ran or whose enclosing function ran (~3 ms). A function that was
 * never called, in a script whose other functions are all gone, is missing there: only then is the Debugger's
 * list read. The Profiler is never disabled again: `Profiler.disable` resets the precise coverage that
 * another session (NODE_V8_COVERAGE, c8) may be collecting, and an enabled Profiler costs nothing.
 */
export function scriptUrl(scriptId: string): string | undefined {
  const hit = scriptUrls.get(scriptId);
  if (hit !== undefined) return hit || undefined;
  const s = getSession();
  try {
    s.post('Profiler.enable', {});
    const scripts = s.post<{ result: { scriptId: string; url: string }[] }>('Profiler.getBestEffortCoverage', {}).result;
    for (let i = 0; i < scripts.length; i++) scriptUrls.set(scripts[i]!.scriptId, scripts[i]!.url);
  } catch { /* the Debugger's list below */ }
  const covered = scriptUrls.get(scriptId);
  if (covered !== undefined) return covered || undefined;
  const onParsed = (m: { params: { scriptId: string; url: string } }) => { scriptUrls.set(m.params.scriptId, m.params.url); };
  try {
    s.on('Debugger.scriptParsed', onParsed);
    s.post('Debugger.enable', {});
    s.post('Debugger.disable', {});
  } catch {
    return undefined;
  } finally {
    s.off('Debugger.scriptParsed', onParsed);
  }
  if (!scriptUrls.has(scriptId)) scriptUrls.set(scriptId, '');
  return scriptUrls.get(scriptId) || undefined;
}

let session: Session | null = null;
function getSession(): Session {
  session ??= new Session();
  return session;
}

interface RemoteProperty {
  name: string;
  value?: { type: string; value?: unknown; objectId?: string; unserializableValue?: string };
  get?: { objectId?: string; type: string };
  set?: { objectId?: string; type: string };
}

/** Captures a function's location, scopes (live values) and, for bound functions, target/this/args. */
export function captureFunction(fn: Function, wantPrivates = false): FunctionCapture {
  const s = getSession();
  try {
    const id = s.remoteId(fn);
    const props = s.post<{ internalProperties?: RemoteProperty[]; privateProperties?: RemoteProperty[] }>(
      'Runtime.getProperties', { objectId: id, ownProperties: true, generatePreview: false });
    const out: FunctionCapture = { scriptId: '', line: 0, column: 0, scopes: [] };
    let scopesId: string | undefined;
    let targetId: string | undefined, thisRemote: RemoteProperty['value'], argsId: string | undefined;
    for (const p of props.internalProperties ?? []) {
      switch (p.name) {
        case '[[FunctionLocation]]': {
          const loc = p.value!.value as { scriptId: string; lineNumber: number; columnNumber: number };
          out.scriptId = loc.scriptId;
          out.line = loc.lineNumber;
          out.column = loc.columnNumber;
          break;
        }
        case '[[Scopes]]': scopesId = p.value!.objectId; break;
        case '[[TargetFunction]]': targetId = p.value!.objectId; break;
        case '[[BoundThis]]': thisRemote = p.value; break;
        case '[[BoundArgs]]': argsId = p.value!.objectId; break;
      }
    }
    if (targetId !== undefined) {
      out.bound = {
        target: s.materialize(targetId) as Function,
        thisArg: thisRemote === undefined ? undefined : remoteValue(s, thisRemote),
        args: argsId === undefined ? [] : Array.from(s.materialize(argsId) as unknown[]),
      };
    }
    if (scopesId !== undefined) {
      const list = s.materialize(scopesId) as { description: string; object: Record<string, unknown> }[];
      for (let i = 0; i < list.length; i++) {
        const entry = list[i]!;
        const m = SCOPE_DESCRIPTION.exec(entry.description);
        const type = m ? m[1]! : entry.description;
        out.scopes.push({ type, name: m?.[2] ?? '', vars: type === 'Global' ? null : entry.object });
      }
    }
    if (wantPrivates && props.privateProperties) out.privates = privateEntries(s, props.privateProperties);
    return out;
  } catch (e) {
    if (e instanceof PikalaError) throw e;
    throw new PikalaError('PIKALA_CAPTURE', `could not read the closure of ${describe(fn)}: ${(e as Error).message}`, { cause: e });
  } finally {
    s.dirty = true;
  }
}

/**
 * Captures several functions with fewer inspector round trips: one call lists the array of functions, one
 * per function reads its internal properties, one materialises every scope list (about half the cost of
 * capturing them one by one). Bound functions are left to captureFunction.
 */
export function captureFunctions(fns: Function[]): Map<Function, FunctionCapture> {
  const out = new Map<Function, FunctionCapture>();
  if (fns.length === 0) return out;
  const s = getSession();
  try {
    const arrayId = s.remoteId(fns);
    const elements = s.post<{ result: RemoteProperty[] }>('Runtime.getProperties',
      { objectId: arrayId, ownProperties: true, generatePreview: false }).result;
    const ids: string[] = new Array(fns.length);
    for (const e of elements) {
      if (/^\d+$/.test(e.name) && e.value?.objectId !== undefined) ids[+e.name] = e.value.objectId;
    }
    const pending: { fn: Function; capture: FunctionCapture }[] = [];
    const scopeArgs: { objectId: string }[] = [];
    for (let i = 0; i < fns.length; i++) {
      if (ids[i] === undefined) continue;
      const props = s.post<{ internalProperties?: RemoteProperty[] }>('Runtime.getProperties',
        { objectId: ids[i], ownProperties: true, generatePreview: false });
      const capture: FunctionCapture = { scriptId: '', line: 0, column: 0, scopes: [] };
      let scopesId: string | undefined;
      let bound = false;
      for (const p of props.internalProperties ?? []) {
        if (p.name === '[[FunctionLocation]]') {
          const loc = p.value!.value as { scriptId: string; lineNumber: number; columnNumber: number };
          capture.scriptId = loc.scriptId;
          capture.line = loc.lineNumber;
          capture.column = loc.columnNumber;
        } else if (p.name === '[[Scopes]]') {
          scopesId = p.value!.objectId;
        } else if (p.name === '[[TargetFunction]]') {
          bound = true;
        }
      }
      if (bound || scopesId === undefined) continue;
      pending.push({ fn: fns[i]!, capture });
      scopeArgs.push({ objectId: scopesId });
    }
    if (pending.length === 0) return out;
    const g = globalThis as Slot;
    s.post('Runtime.callFunctionOn', {
      objectId: arrayId,
      functionDeclaration: `function () { 'use strict'; const a = []; for (let i = 0; i < arguments.length; i++) a[i] = arguments[i]; globalThis[Symbol.for('pikala.inspector.slot')] = a; }`,
      arguments: scopeArgs,
      silent: true,
    });
    const lists = g[SLOT] as { description: string; object: Record<string, unknown> }[][];
    g[SLOT] = undefined;
    for (let i = 0; i < pending.length; i++) {
      const list = lists[i]!;
      const { fn, capture } = pending[i]!;
      for (let j = 0; j < list.length; j++) {
        const entry = list[j]!;
        const m = SCOPE_DESCRIPTION.exec(entry.description);
        const type = m ? m[1]! : entry.description;
        capture.scopes.push({ type, name: m?.[2] ?? '', vars: type === 'Global' ? null : entry.object });
      }
      out.set(fn, capture);
    }
    return out;
  } catch {
    return out; // callers capture one by one, with precise errors
  } finally {
    s.dirty = true;
  }
}

/**
 * Releases what the inspector holds for the captures of a dump (one call per dump instead of one per
 * function; without it every captured value would stay alive).
 */
export function releaseCaptures(): void {
  if (session !== null && session.dirty) {
    session.dirty = false;
    try { session.release(); } catch { /* the session is gone; nothing is held */ }
  }
}

/** The target of a Proxy, read without running any of its traps. */
export function proxyTarget(proxy: object): object | undefined {
  const s = getSession();
  try {
    const id = s.remoteId(proxy);
    const props = s.post<{ internalProperties?: RemoteProperty[] }>('Runtime.getProperties', { objectId: id, ownProperties: true });
    const t = props.internalProperties?.find((p) => p.name === '[[Target]]');
    return t?.value?.objectId ? s.materialize(t.value.objectId) as object : undefined;
  } catch {
    return undefined;
  } finally {
    try { s.release(); } catch { /* ignore */ }
  }
}

/** Private fields and accessors of an object (values live), in the order V8 lists them. */
export function capturePrivates(o: object): PrivateEntry[] {
  const s = getSession();
  try {
    const id = s.remoteId(o);
    const props = s.post<{ privateProperties?: RemoteProperty[] }>(
      'Runtime.getProperties', { objectId: id, ownProperties: true, generatePreview: false });
    return props.privateProperties ? privateEntries(s, props.privateProperties) : [];
  } catch (e) {
    if (e instanceof PikalaError) throw e;
    throw new PikalaError('PIKALA_CAPTURE', `could not read the private fields of an object: ${(e as Error).message}`, { cause: e });
  } finally {
    try { s.release(); } catch { /* ignore */ }
  }
}

function privateEntries(s: Session, list: RemoteProperty[]): PrivateEntry[] {
  return list.map((p) => {
    const e: PrivateEntry = { name: p.name };
    if (p.value !== undefined) e.value = remoteValue(s, p.value);
    if (p.get !== undefined && p.get.objectId) e.get = s.materialize(p.get.objectId);
    if (p.set !== undefined && p.set.objectId) e.set = s.materialize(p.set.objectId);
    return e;
  });
}

function remoteValue(s: Session, v: NonNullable<RemoteProperty['value']>): unknown {
  if (v.objectId !== undefined) return s.materialize(v.objectId);
  if (v.unserializableValue !== undefined) {
    const u = v.unserializableValue;
    if (u === 'NaN') return NaN;
    if (u === '-0') return -0;
    if (u === 'Infinity') return Infinity;
    if (u === '-Infinity') return -Infinity;
    if (u.endsWith('n')) return BigInt(u.slice(0, -1));
  }
  if (v.type === 'undefined') return undefined;
  return v.value;
}

function describe(fn: Function): string {
  try { return fn.name ? `function '${fn.name}'` : 'an anonymous function'; } catch { return 'a function'; }
}
