/**
 * Built-ins travel by reference: a path such as `Array.prototype.push`, `%TypedArray%.prototype` or
 * `node:fs.readFileSync`, resolved on the receiver to its own object (so `===` holds after load).
 *
 * The sender finds paths in a registry built lazily by walking the standard globals and the built-in modules
 * this process has loaded (own data properties only: no getter runs). The receiver does not need the same
 * registry: it walks the path itself, through own data properties, from a fixed set of roots, so a user's
 * monkeypatched global or a getter can never be reached.
 */
import NodeModule, { builtinModules, createRequire, isBuiltin } from 'node:module';
import {
  ArrayPrototypeIncludes, FunctionPrototype, FunctionPrototypeToString, JSONParse, ObjectGetOwnPropertyDescriptor,
  ObjectGetPrototypeOf, ReflectApply, ReflectOwnKeys, RegExpPrototypeExec, SafeMap, SafeSet, StringPrototypeSlice,
  StringPrototypeStartsWith, functionName, isProxy,
} from '../util/primordials.js';
import { WELL_KNOWN_SYMBOLS, WELL_KNOWN_SYMBOL_NAMES } from '../codecs/symbols.js';
import { maps } from '../util/natives.js';
import { prototypeOwner } from '../util/prototypes.js';

/** Globals defined by ECMAScript and by Node itself (never the user's). */
const GLOBAL_NAMES = [
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Boolean', 'String', 'Symbol', 'Date',
  'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError',
  'TypeError', 'URIError', 'globalThis', 'JSON', 'Math', 'Intl', 'ArrayBuffer', 'Atomics', 'Uint8Array',
  'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
  'Uint8ClampedArray', 'BigUint64Array', 'BigInt64Array', 'DataView', 'Map', 'BigInt', 'Set', 'WeakMap',
  'WeakSet', 'Proxy', 'Reflect', 'FinalizationRegistry', 'WeakRef', 'decodeURI', 'decodeURIComponent',
  'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval', 'isFinite', 'isNaN', 'SharedArrayBuffer',
  'WebAssembly', 'Iterator',
  'process', 'Buffer', 'global', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'setImmediate', 'clearImmediate', 'structuredClone', 'atob', 'btoa', 'URL', 'URLSearchParams', 'TextEncoder',
  'TextDecoder', 'AbortController', 'AbortSignal', 'EventTarget', 'Event', 'MessageChannel', 'MessagePort',
  'MessageEvent', 'Blob', 'File', 'performance', 'console', 'DOMException', 'BroadcastChannel',
];

/**
 * Globals Node defines lazily (getters) whose getter is cheap; their values are the built-ins themselves.
 * The getters are snapshotted when pikala loads, so a getter a program installs later is never called.
 */
const LAZY_GLOBALS = [
  'process', 'Buffer', 'DOMException', 'AbortController', 'AbortSignal', 'TextEncoder', 'TextDecoder', 'atob', 'btoa',
  'BroadcastChannel', 'MessageChannel', 'MessagePort', 'MessageEvent', 'Blob', 'File', 'performance', 'console',
];
/** Lazy globals that load a whole subsystem when first read: looked at only when a function is not found. */
const EXPENSIVE_GLOBALS = [
  'fetch', 'FormData', 'Headers', 'Request', 'Response', 'WebSocket', 'EventSource', 'crypto', 'Crypto', 'CryptoKey',
  'SubtleCrypto', 'ReadableStream', 'WritableStream', 'TransformStream', 'CompressionStream', 'DecompressionStream',
  'TextEncoderStream', 'TextDecoderStream', 'Performance', 'PerformanceEntry', 'PerformanceObserver', 'navigator',
];
const globalDescriptors = new SafeMap<string, PropertyDescriptor>();
for (const name of [...GLOBAL_NAMES, ...LAZY_GLOBALS, ...EXPENSIVE_GLOBALS]) {
  const d = ObjectGetOwnPropertyDescriptor(globalThis, name);
  if (d !== undefined) globalDescriptors.set(name, d);
}

/** The value of a standard global, calling Node's own lazy getter (as snapshotted) when there is one. */
function globalValue(name: string): unknown {
  const d = ObjectGetOwnPropertyDescriptor(globalThis, name);
  if (d === undefined) return undefined;
  if ('value' in d) return d.value;
  const original = globalDescriptors.get(name);
  if (original?.get === undefined || original.get !== d.get) return undefined;
  try { return ReflectApply(d.get, globalThis, []); } catch { return undefined; }
}

/** Intrinsics that no global name reaches directly. */
function hiddenIntrinsics(): [string, object][] {
  const out: [string, object][] = [];
  const add = (name: string, v: unknown) => { if (v !== null && (typeof v === 'object' || typeof v === 'function')) out.push([name, v as object]); };
  add('%TypedArray%', ObjectGetPrototypeOf(Uint8Array));
  add('%IteratorPrototype%', ObjectGetPrototypeOf(ObjectGetPrototypeOf([][Symbol.iterator]())));
  add('%ArrayIteratorPrototype%', ObjectGetPrototypeOf([][Symbol.iterator]()));
  add('%MapIteratorPrototype%', ObjectGetPrototypeOf(new Map()[Symbol.iterator]()));
  add('%SetIteratorPrototype%', ObjectGetPrototypeOf(new Set()[Symbol.iterator]()));
  add('%StringIteratorPrototype%', ObjectGetPrototypeOf(''[Symbol.iterator]()));
  add('%RegExpStringIteratorPrototype%', ObjectGetPrototypeOf(/x/[Symbol.matchAll]('')));
  add('%GeneratorFunction%', ObjectGetPrototypeOf(function* () { /* probe */ }).constructor);
  add('%AsyncFunction%', ObjectGetPrototypeOf(async function () { /* probe */ }).constructor);
  add('%AsyncGeneratorFunction%', ObjectGetPrototypeOf(async function* () { /* probe */ }).constructor);
  add('%AsyncIteratorPrototype%', ObjectGetPrototypeOf(ObjectGetPrototypeOf(ObjectGetPrototypeOf((async function* () { /* probe */ })()))));
  add('%ThrowTypeError%', ObjectGetOwnPropertyDescriptor(FunctionPrototype, 'caller')?.get);
  return out;
}
/** Taken once, when pikala loads: later, the iterator methods it calls may be the program's. */
const HIDDEN_INTRINSICS = hiddenIntrinsics();

const IDENT = /^[A-Za-z_$][\w$]*$/;

function segment(key: string | symbol): string | undefined {
  if (typeof key === 'symbol') {
    const name = WELL_KNOWN_SYMBOL_NAMES.get(key);
    return name === undefined ? undefined : `[Symbol.${name}]`;
  }
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Runtime properties that hold the program's own modules: `Module._cache` (require.cache), `_pathCache`, `process.mainModule`. */
const USER_STATE_KEYS = new SafeSet<string>(['_cache', '_pathCache', 'mainModule']);
const ModulePrototype = (NodeModule as unknown as { prototype: object }).prototype;

/** Whether `o` is a CommonJS Module object (a file's `module`). */
export function isModuleObject(o: object): boolean {
  if (isProxy(o)) return false;
  for (let p = ObjectGetPrototypeOf(o); p !== null; p = ObjectGetPrototypeOf(p)) if (p === ModulePrototype) return true;
  return false;
}

/**
 * One breadth-first walk over own data properties, so the shortest path wins and every run finds the same one.
 * It advances one object at a time: a lookup stops it as soon as the object it wants is registered (the
 * first path an object gets is final), so a dump that needs `Function.prototype` does not pay for the
 * thousands of objects behind it.
 */
class Walk {
  private level: [string, object][] = [];
  private next: [string, object][] = [];
  private index = 0;
  private depth = 1;
  private started = false;

  constructor(private readonly pathOf: Map<object, string>, private roots: (() => [string, object][]) | [string, object][],
    private readonly maxDepth: number) {}

  /** Registers the roots (depth 0); the rest waits for step. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const roots = typeof this.roots === 'function' ? this.roots() : this.roots;
    this.roots = [];
    for (const [path, v] of roots) {
      if (this.pathOf.has(v)) continue;
      this.pathOf.set(v, path);
      this.level.push([path, v]);
    }
  }

  get done(): boolean {
    return this.started && (this.depth >= this.maxDepth || this.index >= this.level.length && this.next.length === 0);
  }

  /** Registers the properties of the next object of the current level. */
  step(): void {
    this.start();
    if (this.index >= this.level.length) {
      this.level = this.next;
      this.next = [];
      this.index = 0;
      this.depth++;
      if (this.depth >= this.maxDepth || this.level.length === 0) return;
    }
    const [path, obj] = this.level[this.index++]!;
    if (obj === globalThis) return;
    const pathOf = this.pathOf;
    let keys: (string | symbol)[];
    try { keys = ReflectOwnKeys(obj); } catch { return; }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const d = ObjectGetOwnPropertyDescriptor(obj, key);
      if (d === undefined) continue;
      if (typeof key === 'symbol' && !WELL_KNOWN_SYMBOL_NAMES.has(key)) continue;
      if (!('value' in d)) continue;
      const v = d.value as unknown;
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue;
      if (pathOf.has(v)) continue;
      // The module system's records of the program's own files (require.cache, process.mainModule and
      // every Module object) are the program's: on another machine they are other files, or none.
      if (USER_STATE_KEYS.has(key as string) || isModuleObject(v)) continue;
      // What a program attached to a built-in (Math.myHelper = () => ...) is the program's, not the runtime's.
      if (looksAdded(v, path)) continue;
      const p = path + segment(key)!;
      pathOf.set(v, p);
      this.next.push([p, v]);
    }
  }
}

class Registry {
  readonly pathOf = new Map<object, string>();
  private readonly walkedModules = new Set<string>();
  /** Walks in the order they were due; each finishes before the next starts, as if each ran when due. */
  private readonly walks: Walk[] = [];

  constructor() {
    const roots: [string, object][] = [];
    for (const name of [...GLOBAL_NAMES, ...LAZY_GLOBALS]) {
      const v = globalValue(name);
      if (v !== null && (typeof v === 'object' || typeof v === 'function')) roots.push([name, v as object]);
    }
    roots.push(...HIDDEN_INTRINSICS);
    const walk = new Walk(this.pathOf, roots, 4);
    walk.start();
    this.walks.push(walk);
  }

  /** The path of `o` among the walks due so far, advancing them only until `o` has one. */
  find(o: object): string | undefined {
    let path = this.pathOf.get(o);
    while (path === undefined && this.walks.length !== 0) {
      const walk = this.walks[0]!;
      if (walk.done) { this.walks.shift(); continue; }
      walk.step();
      path = this.pathOf.get(o);
    }
    return path;
  }

  /**
   * Whether a lookup can no longer walk: every walk due has finished and no built-in module was loaded
   * since the last miss. Then a miss costs nothing, and checks that only spare a walk are skipped.
   */
  settled(): boolean {
    return this.walks.length === 0 && this.seenLoadList === loadListLength();
  }

  /** Whether a lookup (without a miss that makes loaded modules due) would walk. */
  walking(): boolean {
    return this.walks.length !== 0;
  }

  private walkedExpensive = false;

  /** Registers the globals that load subsystems (fetch, web crypto, streams); once, on a miss. */
  walkExpensiveGlobals(): void {
    if (this.walkedExpensive) return;
    this.walkedExpensive = true;
    const roots: [string, object][] = [];
    for (const name of EXPENSIVE_GLOBALS) {
      const v = globalValue(name);
      if (v !== null && (typeof v === 'object' || typeof v === 'function')) roots.push([name, v as object]);
    }
    this.walks.push(new Walk(this.pathOf, roots, 3));
  }

  private seenLoadList = -1;

  /**
   * Makes the exports of the built-in modules loaded so far (loading none) due for a walk. Which modules
   * are loaded is fixed now; their exports are read when the walk starts.
   */
  walkLoadedModules(): void {
    const list = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
    const count = list.length;
    if (count === this.seenLoadList) return;
    this.seenLoadList = count;
    const loaded = loadedBuiltinModules(list.slice(0, count));
    this.walks.push(new Walk(this.pathOf, () => {
      const roots: [string, object][] = [];
      for (const name of loaded) {
        if (this.walkedModules.has(name)) continue;
        this.walkedModules.add(name);
        const exports = loadBuiltin(name);
        if (exports !== undefined) roots.push([`node:${name}`, exports]);
      }
      return roots;
    }, 3));
  }
}

/**
 * A function the program wrote and attached to a built-in (Math.myHelper = () => ...): it belongs to the
 * program and travels by value. Node's own JavaScript functions come from its internal modules, whose
 * source uses `primordials`; without V8 natives pikala cannot look, and keeps everything it finds.
 */
function looksAdded(v: object, path: string): boolean {
  if (typeof v !== 'function') {
    // An instance or prototype is the program's when its constructor is.
    const ctor = owningConstructor(v);
    return ctor !== undefined && looksAdded(ctor, path);
  }
  let text: string;
  try { text = FunctionPrototypeToString(v); } catch { return false; }
  if (NATIVE_TEXT.test(text)) return false;
  // Everything ECMAScript itself defines is native code in V8: a JavaScript function under Math, JSON,
  // Object, Array... is the program's. Only Node's globals and modules hold Node's own JavaScript.
  const root = /^[A-Za-z_$][\w$]*/.exec(path)?.[0];
  if (root !== undefined && ECMASCRIPT_ROOTS.has(root)) return true;
  if (maps === null) return false;
  let source: string | undefined;
  try { source = maps.scriptSource(v as Function); } catch { return false; }
  if (typeof source !== 'string') return false;
  return !isInternalSource(source);
}
const internalSources = new Map<string, boolean>();
const ECMASCRIPT_ROOTS = new Set(GLOBAL_NAMES.slice(0, GLOBAL_NAMES.indexOf('process')));

/** Whether `fn` is JavaScript of Node's own internal modules (undefined when pikala cannot tell). */
export function isNodeInternal(fn: Function): boolean | undefined {
  if (maps === null) return undefined;
  let source: string | undefined;
  try { source = maps.scriptSource(fn); } catch { return undefined; }
  if (typeof source !== 'string') return false;
  return isInternalSource(source);
}

function isInternalSource(source: string): boolean {
  let internal = internalSources.get(source);
  if (internal === undefined) {
    internal = /\bprimordials\b/.test(source);
    internalSources.set(source, internal);
  }
  return internal;
}

/**
 * Whether `fn` is JavaScript of the program (not native, not Node's): exactly the functions looksAdded
 * turns away, so no walk below a root can register one. Only a root, a global the program replaced, can.
 */
function isProgramFunction(fn: Function): boolean {
  if (maps === null || isProxy(fn)) return false;
  let known = programFunctions.get(fn);
  if (known === undefined) {
    known = looksLikeProgramFunction(fn);
    programFunctions.set(fn, known);
  }
  return known;
}
/** Answers of isProgramFunction: a function's source and where it comes from never change. */
const programFunctions = new WeakMap<Function, boolean>();

function looksLikeProgramFunction(fn: Function): boolean {
  if (maps === null) return false;
  let source: string | undefined;
  try { source = maps.scriptSource(fn); } catch { return false; }
  if (typeof source !== 'string' || isInternalSource(source)) return false;
  let text: string;
  try { text = FunctionPrototypeToString(fn); } catch { return false; }
  return !NATIVE_TEXT.test(text);
}
const NATIVE_TEXT = /\{\s*\[native code\]\s*\}\s*$/;

/**
 * Whether `o`, an object, is the program's by construction: the `prototype` of a program function (a class's
 * prototype, a plain function's), or an instance of one. Like program functions, the walk never registers
 * one (a program's prototype attached to a built-in is still the program's), so a lookup for one needs no
 * walk: in a fresh process that walk is most of a first dump of a closure (a function's `prototype` object)
 * or of class instances.
 */
function isProgramObject(o: object): boolean {
  if (maps === null) return false;
  const ctor = owningConstructor(o);
  return ctor !== undefined && isProgramFunction(ctor);
}

/** The function whose `prototype` is `o` (o is a prototype) or else o's prototype (o is an instance). */
function owningConstructor(o: object): Function | undefined {
  const own = prototypeOwner(o);
  if (own !== undefined || isProxy(o)) return own;
  const proto = ObjectGetPrototypeOf(o) as object | null;
  return proto === null ? undefined : prototypeOwner(proto);
}

function loadListLength(): number {
  return (process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.length ?? 0;
}

let registry: Registry | null = null;
function getRegistry(): Registry {
  registry ??= new Registry();
  return registry;
}

const requireBuiltin = createRequire(process.cwd() + '/');
function loadBuiltin(name: string): object | undefined {
  try {
    const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    const v = get ? get(`node:${name}`) : requireBuiltin(`node:${name}`);
    return v !== null && (typeof v === 'object' || typeof v === 'function') ? v as object : undefined;
  } catch {
    return undefined;
  }
}

/** Built-in modules this process has already loaded (per `list`, its moduleLoadList), so looking at them has no side effect. */
function loadedBuiltinModules(list: readonly string[]): string[] {
  const loaded = new Set<string>();
  for (const entry of list) {
    const m = /^NativeModule (.+)$/.exec(entry);
    if (m) loaded.add(m[1]!);
  }
  const names = builtinModules.filter((n) => !n.startsWith('_') && !n.startsWith('internal/') && loaded.has(n));
  // Modules that exist only with the node: prefix (node:test, node:sea) are not in builtinModules.
  for (const n of loaded) if (!names.includes(n) && !n.startsWith('internal/') && isBuiltin(`node:${n}`)) names.push(n);
  return names;
}

/** The path of a built-in object, or undefined. */
export function builtinPath(o: object): string | undefined {
  const reg = getRegistry();
  let path = reg.pathOf.get(o);
  if (path !== undefined) return path;
  if (typeof o !== 'function' && !reg.settled() && isProgramObject(o)) {
    reg.walkLoadedModules();
    return undefined;
  }
  // The globals that load subsystems are looked at only for what can be one of them (fetch, Response...):
  // walking them costs tens of milliseconds, which every first dump of a user function would pay.
  // (A function Proxy is never one: reading its name would run its traps.)
  const expensive = typeof o === 'function' && !isProxy(o) && EXPENSIVE_GLOBALS.includes(functionName(o as Function));
  if (!expensive && typeof o === 'function' && isProgramFunction(o)) {
    // No walk can find it, so none runs for it; the modules loaded by now are still walked, later, when
    // some other lookup needs them, so that every path is the one a full walk now would give.
    reg.walkLoadedModules();
    return undefined;
  }
  path = reg.find(o);
  if (path === undefined) {
    reg.walkLoadedModules();
    path = reg.find(o);
    if (path === undefined && expensive) {
      reg.walkExpensiveGlobals();
      path = reg.find(o);
    }
  }
  return path;
}

/** What builtinPath does for an object that is known not to be a built-in, without looking. */
export function builtinMiss(): undefined {
  // A miss makes the modules loaded by now due for a walk: later paths stay those of the full lookup.
  getRegistry().walkLoadedModules();
  return undefined;
}

const moduleObjects = new WeakSet<object>();
let moduleObjectsSeen = -1;

/**
 * Whether `o` is the exports object of a built-in module this process loaded (`require('node:path')`).
 * Cheap: a WeakSet, refreshed only when the process has loaded more modules.
 */
export function isBuiltinModuleObject(o: object): boolean {
  const count = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.length ?? 0;
  if (count !== moduleObjectsSeen) {
    moduleObjectsSeen = count;
    for (const name of loadedBuiltinModules((process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [])) {
      const exports = loadBuiltin(name);
      if (exports !== undefined) moduleObjects.add(exports);
    }
  }
  return moduleObjects.has(o);
}

/** The path of `o` among the standard globals and intrinsics, without looking at modules. */
export function knownBuiltinPath(o: object): string | undefined {
  const reg = getRegistry();
  const path = reg.pathOf.get(o);
  if (path !== undefined || typeof o === 'function' && isProgramFunction(o)) return path;
  if (typeof o !== 'function' && reg.walking() && isProgramObject(o)) return undefined;
  return reg.find(o);
}

const PATH_ROOT = /^(%[A-Za-z]+%|node:[a-z_/0-9]+|[A-Za-z_$][\w$]*)/;
const PATH_SEGMENT = /^(?:\.([A-Za-z_$][\w$]*)|\[Symbol\.([A-Za-z]+)\]|\[("(?:[^"\\]|\\.)*")\])/;

/**
 * Resolves a built-in path on this runtime by walking own data properties from a fixed root; undefined if
 * it does not exist. With `dataOnly`, only non-function objects (prototypes, namespaces) may be reached.
 */
export function resolveBuiltin(path: string, dataOnly: boolean): object | undefined {
  const m = RegExpPrototypeExec(PATH_ROOT, path);
  if (m === null) return undefined;
  const rootName = m[1]!;
  // Data-only loads decide before touching anything: no module is loaded, no lazy global is initialised.
  if (dataOnly && (StringPrototypeStartsWith(rootName, 'node:') || rootName === 'process' || !ArrayPrototypeIncludes(GLOBAL_NAMES, rootName) && !StringPrototypeStartsWith(rootName, '%'))) {
    return undefined;
  }
  let cur: unknown;
  if (StringPrototypeStartsWith(rootName, '%')) {
    for (let i = 0; i < HIDDEN_INTRINSICS.length; i++) if (HIDDEN_INTRINSICS[i]![0] === rootName) cur = HIDDEN_INTRINSICS[i]![1];
  } else if (StringPrototypeStartsWith(rootName, 'node:')) {
    const name = StringPrototypeSlice(rootName, 5);
    if (!isBuiltin(`node:${name}`)) return undefined;
    cur = loadBuiltin(name);
  } else {
    if (!ArrayPrototypeIncludes(GLOBAL_NAMES, rootName) && !ArrayPrototypeIncludes(LAZY_GLOBALS, rootName) && !ArrayPrototypeIncludes(EXPENSIVE_GLOBALS, rootName)) return undefined;
    cur = globalValue(rootName);
  }
  let rest = StringPrototypeSlice(path, rootName.length);
  while (rest.length !== 0) {
    if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) return undefined;
    const s = RegExpPrototypeExec(PATH_SEGMENT, rest);
    if (s === null) return undefined;
    let key: PropertyKey;
    if (s[1] !== undefined) key = s[1];
    else if (s[2] !== undefined) {
      const sym = WELL_KNOWN_SYMBOLS.get(s[2]);
      if (sym === undefined) return undefined;
      key = sym;
    } else {
      try { key = JSONParse(s[3]!) as string; } catch { return undefined; }
      if (typeof key !== 'string') return undefined;
    }
    const d = ObjectGetOwnPropertyDescriptor(cur as object, key);
    if (d === undefined || !('value' in d)) return undefined;
    cur = d.value;
    rest = StringPrototypeSlice(rest, s[0].length);
  }
  if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) return undefined;
  if (dataOnly && (typeof cur === 'function' || cur === globalThis || StringPrototypeStartsWith(rootName, 'node:') || rootName === 'process')) {
    return undefined;
  }
  return cur as object;
}
