/**
 * The encoder's model of shipped code: which scope instances (environments) the dumped functions close over,
 * which of their variables they use, and which source scopes ("layouts") those environments are instances of.
 *
 * - An environment is one runtime scope (one call of a factory, one loop iteration, a module). The inspector
 *   shows copies of scopes, never their identity, so an environment is identified by a key over its
 *   variables' values (objects by identity) and its parent's key. Closures made by one call share the
 *   environment; calls that produced different values get different environments.
 * - A layout is one source scope. All environments of a layout are rebuilt from one generated factory, so
 *   a thousand closures from a thousand calls compile once. Layouts are found by union: two environments
 *   that contain the same function (same source position) at the same depth are instances of one layout.
 * - Each environment ships only the variables the dumped functions use; more are added (and filled) when
 *   more functions are found, until the walk ends. Then codegen.ts writes the source of each layout tree.
 */
import { PikalaError } from '../api/errors.js';
import type { SourceAnalysis } from './analyze.js';
import type { FunctionCapture, ScopeInfo } from './inspector.js';

export class Layout {
  readonly id: number;
  /** Union-find parent; a layout is its class's representative when rep === this. */
  rep: Layout = this;
  readonly vars = new Set<string>();
  readonly makers = new Set<Maker>();
  parent: Layout | null;
  /** Assigned by codegen: the unit and key of the representative. */
  unit = -1;
  key = '';

  constructor(id: number, parent: Layout | null) {
    this.id = id;
    this.parent = parent;
  }

  find(): Layout {
    let l: Layout = this;
    while (l.rep !== l) { l.rep = l.rep.rep; l = l.rep; }
    return l;
  }
}

export function union(a: Layout, b: Layout): Layout {
  const ra = a.find(), rb = b.find();
  if (ra === rb) return ra;
  // Keep the older layout as representative so ids stay stable.
  const [keep, drop] = ra.id < rb.id ? [ra, rb] : [rb, ra];
  drop.rep = keep;
  for (const v of drop.vars) keep.vars.add(v);
  for (const m of drop.makers) { keep.makers.add(m); m.layout = keep; }
  drop.vars.clear();
  drop.makers.clear();
  if (keep.parent === null && drop.parent !== null) keep.parent = drop.parent;
  else if (keep.parent !== null && drop.parent !== null) union(keep.parent, drop.parent);
  return keep;
}

/** How a maker turns the function's text into a function inside its environment. */
export type MakerMode =
  | 'class'      // the rewritten class text, given its parent, the restore controller and computed keys
  | 'plain'      // (text)
  | 'this'       // (text) evaluated in a function called with the captured `this`
  | 'newTarget'  // (text) returned by a derived constructor constructed with the captured new.target and this
  | 'method'     // { __proto__: home, [key]<rest> }[key]
  | 'get' | 'set'
  | 'superArrow'; // an arrow using super: made inside a method of { __proto__: home }

export class Maker {
  readonly id: number;
  /** The function's source text. */
  readonly text: string;
  readonly mode: MakerMode;
  readonly strict: boolean;
  readonly analysis: SourceAnalysis;
  /** Whether the maker must receive the captured `arguments` (arrows that use both this and arguments). */
  readonly passArguments: boolean;
  layout: Layout | null;
  /** Assigned by codegen. */
  key = '';
  /** For classes: the identifier prefix of the rewrite's placeholders. */
  classPrefix = '';
  /** For classes: arrow field texts made by a maker compiled inside the class (they use #private names). */
  readonly classMembers: string[] = [];

  constructor(id: number, text: string, mode: MakerMode, strict: boolean, analysis: SourceAnalysis,
    layout: Layout | null, passArguments: boolean) {
    this.id = id;
    this.text = text;
    this.mode = mode;
    this.strict = strict;
    this.analysis = analysis;
    this.layout = layout;
    this.passArguments = passArguments;
  }
}

const ENVS = new WeakSet<object>();
/** Whether `o` is an environment (a membership test: `instanceof` could run a Proxy's trap). */
export function isEnv(o: object): o is Env {
  return ENVS.has(o);
}

/** One runtime scope instance. Its identity in the payload is this object (memoized like any object). */
export class Env {
  readonly key: string;
  readonly parent: Env | null;
  readonly type: string;
  layout: Layout;
  /** The scope's live variables (a copy of the scope object the inspector gave). */
  readonly scopeVars: Record<string, unknown>;
  /** Variables the shipped functions use, name → value, in first-use order. */
  readonly needed = new Map<string, unknown>();
  /** Names already written in a Fill record. */
  readonly filled = new Set<string>();
  /** Queued for a Fill record that has not been written yet. */
  fillQueued = false;
  /** Functions placed in this environment, with the index of this scope in their chain counted from Global. */
  readonly members: { fn: Function; fromEnd: number; probeable: boolean }[] = [];
  readonly memberSet = new Set<Function>();
  /** Where the first function of this environment is in the dumped value (for error paths of its variables). */
  origin = 'root';

  constructor(key: string, parent: Env | null, type: string, layout: Layout, scopeVars: Record<string, unknown>) {
    ENVS.add(this);
    this.key = key;
    this.parent = parent;
    this.type = type;
    this.layout = layout;
    this.scopeVars = scopeVars;
  }
}

export interface ResolvedFunction {
  /** Innermost environment that holds a used variable (or an ancestor chain root); null when none. */
  env: Env | null;
  /** Free names that are globals of the receiver (left free). */
  globals: string[];
}

/** Per-dumps registry of environments, layouts and makers. */
export class CodeGraph {
  private readonly envs = new Map<string, Env>();
  /** Source site (function location + depth) → layout. */
  private readonly sites = new Map<string, Layout>();
  private readonly makers = new Map<string, Maker>();
  readonly makerList: Maker[] = [];
  /** Every layout created, by id - 1 (ids appear in Scope records). */
  readonly layouts: Layout[] = [];
  /** Every environment, in creation order. */
  readonly envList: Env[] = [];
  private readonly ids = new Map<unknown, number>();
  private nextIdentity = 1;
  /** Environments that need (another) Fill record. */
  readonly pendingFills: Env[] = [];

  /**
   * Places a captured function's scope chain in the graph: finds or creates the environments (outermost
   * first), registers the variables `free` uses, and returns the innermost environment to build it in.
   * `userGlobals` are free names that resolve to non-built-in globals: they become variables of the
   * outermost environment (a fresh one when the chain has none), like cloudpickle's per-call globals.
   * `hidden` holds variables of scopes that the scope view does not list.
   */
  place(capture: FunctionCapture, free: readonly string[], userGlobals: Map<string, unknown>,
    member: { fn: Function; probeable: boolean; origin: () => string },
    shares: (candidates: Env[], scope: ScopeInfo, fromEnd: number) => number,
    substitute: (scope: ScopeInfo, name: string, value: unknown) => unknown = (_s, _n, v) => v,
    hidden: Map<ScopeInfo, Map<string, unknown>> | null = null): Env | null {
    const fromEndOf: number[] = [];
    const chain: ScopeInfo[] = [];
    capture.scopes.forEach((s, i) => {
      if (s.type !== 'Global') { chain.push(s); fromEndOf.push(capture.scopes.length - 1 - i); }
    });
    // Which scope each free name resolves to: the innermost one that has it.
    const use = new Map<number, string[]>();
    for (const name of free) {
      for (let i = 0; i < chain.length; i++) {
        const vars = chain[i]!.vars;
        if (vars !== null && Object.prototype.hasOwnProperty.call(vars, name)) {
          let list = use.get(i);
          if (list === undefined) use.set(i, list = []);
          list.push(name);
          break;
        }
      }
    }
    if (chain.length === 0 && userGlobals.size === 0) return null;
    const site = `${capture.scriptId}:${capture.line}:${capture.column}`;
    let parent: Env | null = null;
    if (chain.length === 0) {
      parent = this.env('Globals', null, 'Globals', {}, `${site}@globals`);
    }
    for (let depth = chain.length - 1; depth >= 0; depth--) {
      const scope = chain[depth]!;
      const fromEnd = fromEndOf[depth]!;
      // Equal keys may still be two scope instances (two calls that produced equal values): ask.
      const base = this.scopeKey(scope, parent);
      let key = base;
      const candidates: Env[] = [];
      for (let n = 2; ; n++) {
        const existing = this.envs.get(key);
        if (existing === undefined) break;
        if (existing.memberSet.has(member.fn)) { candidates.length = 0; candidates.push(existing); break; }
        candidates.push(existing);
        key = `${base}#${n}`;
      }
      if (candidates.length !== 0) {
        // One question for all instances with this key: which one (if any) is this function's?
        const hit = candidates.length === 1 && candidates[0]!.memberSet.has(member.fn) ? 0 : shares(candidates, scope, fromEnd);
        if (hit >= 0) key = candidates[hit]!.key;
      }
      parent = this.env(key, parent, scope.type, scope.vars ?? {}, `${site}@${depth}`);
      if (parent.members.length === 0) parent.origin = member.origin();
      if (!parent.memberSet.has(member.fn)) {
        parent.memberSet.add(member.fn);
        parent.members.push({ fn: member.fn, fromEnd, probeable: member.probeable });
      }
      const names = use.get(depth);
      if (names) for (const n of names) this.need(parent, n, substitute(scope, n, scope.vars![n]));
      // Bindings the scope view hides (an enclosing named function expression's name), read another way.
      const extra = hidden?.get(scope);
      if (extra !== undefined) for (const [n, v] of extra) this.need(parent, n, v);
      if (depth === chain.length - 1 && userGlobals.size !== 0) {
        for (const [n, v] of userGlobals) this.need(parent, n, v);
      }
    }
    if (chain.length === 0) for (const [n, v] of userGlobals) this.need(parent!, n, v);
    return parent;
  }

  private env(key: string, parent: Env | null, type: string, vars: Record<string, unknown>, site: string): Env {
    let env = this.envs.get(key);
    const siteLayout = this.sites.get(site);
    if (env === undefined) {
      let layout = siteLayout;
      if (layout === undefined) {
        layout = new Layout(this.layouts.length + 1, parent ? parent.layout.find() : null);
        this.layouts.push(layout);
        this.sites.set(site, layout);
      }
      env = new Env(key, parent, type, layout.find(), vars);
      this.envs.set(key, env);
      this.envList.push(env);
    } else if (siteLayout === undefined) {
      this.sites.set(site, env.layout.find());
    } else if (siteLayout.find() !== env.layout.find()) {
      env.layout = union(siteLayout, env.layout);
    }
    // Instances of one layout have parents of one layout.
    const l = env.layout.find();
    if (parent !== null) {
      const pl = parent.layout.find();
      if (l.parent === null) l.parent = pl;
      else if (l.parent.find() !== pl) union(l.parent, pl);
    }
    return env;
  }

  private need(env: Env, name: string, value: unknown): void {
    if (env.needed.has(name)) return;
    env.needed.set(name, value);
    env.layout.find().vars.add(name);
    if (!env.fillQueued) {
      env.fillQueued = true;
      this.pendingFills.push(env);
    }
  }

  /** The maker for a function text in a layout (one per source function and mode). */
  maker(capture: FunctionCapture, text: string, mode: MakerMode, strict: boolean, analysis: SourceAnalysis,
    env: Env | null, passArguments: boolean): Maker {
    const layout = env ? env.layout.find() : null;
    const id = `${capture.scriptId}:${capture.line}:${capture.column}:${mode}:${strict ? 1 : 0}:${passArguments ? 1 : 0}:${layout ? 'L' : 'N'}`;
    let m = this.makers.get(id);
    if (m === undefined) {
      m = new Maker(this.makerList.length, text, mode, strict, analysis, layout, passArguments);
      this.makers.set(id, m);
      this.makerList.push(m);
      layout?.makers.add(m);
    } else if (layout !== null && m.layout!.find() !== layout) {
      // The same source function found in two layouts: they are one source scope.
      union(m.layout!, layout);
    }
    return m;
  }

  /** A key identifying a scope instance: kind, variables and their values (objects by identity), parent. */
  private scopeKey(scope: ScopeInfo, parent: Env | null): string {
    let key = `${scope.type}(${scope.name})`;
    const vars = scope.vars;
    if (vars !== null) {
      for (const name of Object.keys(vars)) key += `|${name}=${this.valueKey(vars[name])}`;
    }
    return parent ? `${key}<${parent.key.length > 200 ? this.identity(parent) : parent.key}` : key;
  }

  private valueKey(v: unknown): string {
    switch (typeof v) {
      case 'string': return v.length <= 256 ? JSON.stringify(v) : `s${v.length}:${hashString(v)}`;
      case 'number': return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint': return `${v}n`;
      case 'boolean': return v ? 'T' : 'F';
      case 'undefined': return 'U';
      case 'symbol': case 'object': case 'function':
        return v === null ? 'N' : `#${this.identity(v)}`;
    }
    return '?';
  }

  private identity(v: unknown): number {
    let id = this.ids.get(v);
    if (id === undefined) { id = this.nextIdentity++; this.ids.set(v, id); }
    return id;
  }
}

function hashString(s: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

export function unsupportedFunction(message: string): never {
  throw new PikalaError('PIKALA_UNSUPPORTED', message);
}
