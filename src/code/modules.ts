/**
 * Modules: built-ins and installed packages travel by reference, the program's own files by value.
 *
 * What a shipped function takes from a package is found two ways:
 * - by value identity, for CommonJS: the exports of every module loaded from a node_modules folder (and
 *   their members) are indexed, so `const _ = require('lodash')`, `const { chunk } = require('lodash')`,
 *   TypeScript's `lodash_1.chunk` and `require('lodash/chunk')` are all recognised;
 * - by the module's own import declarations, for ES modules: a Module-scope variable bound by
 *   `import x from 'pkg'`, `import { x } from 'pkg'` or `import * as ns from 'pkg'` is that package's member.
 * A reference records the bare specifier (through the package's `exports` map when it has one), the
 * export path, and the package version. The receiver requires the specifier from its own entry script's
 * folder (or `resolveFrom`), which also loads ES-module-only packages synchronously on Node ≥ 20.19
 * (`require(esm)`), so `loads` stays synchronous.
 */
import { createRequire, builtinModules } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PikalaError } from '../api/errors.js';
import { ObjectGetOwnPropertyDescriptor, ReflectOwnKeys, isProxy } from '../util/primordials.js';

const REFS = new WeakSet<object>();
/** Whether `o` is a ModuleRef (a membership test: `instanceof` could run a Proxy's trap). */
export function isModuleRef(o: object): o is ModuleRef {
  return REFS.has(o);
}

/** A member of a module, by reference. */
export class ModuleRef {
  constructor(
    readonly specifier: string,
    /** Export path inside the module's exports (`['chunk']` for `require('lodash').chunk`). */
    readonly path: readonly string[],
    /**
     * 'value': exports[path]; 'namespace': what `import * as ns` gives (for a CommonJS module, an object with
     * its exports and `default`); 'require': a require function resolving from the receiver's base.
     */
    readonly kind: 'value' | 'require' | 'namespace',
    /** Package name (for messages) and version recorded at dump time. */
    readonly packageName: string,
    readonly version: string,
    /** It came from an `import` declaration: the receiver resolves it with the import conditions. */
    readonly viaImport = false,
    /**
     * The packages it is nested in (`['pk-uses']` for node_modules/pk-uses/node_modules/pk-ver): the receiver
     * resolves the specifier from inside them, as the producer did, when its tree has the same nesting.
     */
    readonly via: readonly string[] = [],
  ) {
    REFS.add(this);
  }

  get key(): string {
    return `${this.kind}|${this.via.join('>')}|${this.specifier}|${this.path.join('\u0000')}`;
  }
}

// ------------------------------------------------------------------------------------ by-value packages

const BY_VALUE_KEY = Symbol.for('pikala.byValue.v1');
const byValue: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[BY_VALUE_KEY] ??= new Set());

function normalizeTarget(x: string): string {
  if (x.startsWith('file:')) return fileURLToPath(x);
  if (x.startsWith('.') || isAbsolute(x)) return resolve(x);
  return x;
}

/**
 * Ships a package (with its subpaths) or a file by value instead of by reference: its functions travel
 * with their source and what they capture, so the receiver does not need it installed.
 */
export function registerByValue(specifier: string): void {
  if (typeof specifier !== 'string' || specifier.length === 0) {
    throw new PikalaError('PIKALA_UNSUPPORTED', 'registerByValue expects a package name or a file path');
  }
  byValue.add(normalizeTarget(specifier));
}

export function unregisterByValue(specifier: string): void {
  byValue.delete(normalizeTarget(specifier));
}

function isByValue(packageName: string, file: string | null): boolean {
  if (byValue.size === 0) return false;
  if (byValue.has(packageName)) return true;
  if (file !== null) {
    for (const f of byValue) if (isAbsolute(f) && (file === f || file.startsWith(f + sep))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------- packages

interface PackageInfo {
  root: string;
  name: string;
  version: string;
  exports: unknown;
  main: string | undefined;
}

const packageCache = new Map<string, PackageInfo | null>();

/** The package a file belongs to: the nearest package.json with a name, at or below a node_modules folder. */
function packageOf(file: string): PackageInfo | null {
  let dir = dirname(file);
  const seen: string[] = [];
  for (;;) {
    const hit = packageCache.get(dir);
    if (hit !== undefined) { for (const d of seen) packageCache.set(d, hit); return hit; }
    seen.push(dir);
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const json = JSON.parse(readFileSync(pj, 'utf8')) as Record<string, unknown>;
        if (typeof json.name === 'string') {
          const info: PackageInfo = {
            root: dir, name: json.name, version: typeof json.version === 'string' ? json.version : '',
            exports: json.exports, main: typeof json.main === 'string' ? json.main : undefined,
          };
          for (const d of seen) packageCache.set(d, info);
          return info;
        }
      } catch { /* unreadable package.json: keep looking up */ }
    }
    const parent = dirname(dir);
    if (parent === dir || dir.endsWith(`${sep}node_modules`)) {
      for (const d of seen) packageCache.set(d, null);
      return null;
    }
    dir = parent;
  }
}

function isInstalled(file: string): boolean {
  return file.includes(`${sep}node_modules${sep}`);
}

/** The packages a package folder is nested in, outermost first (node_modules/a/node_modules/b → ['a']). */
export function nestingOf(root: string): string[] {
  const parts = root.split(`${sep}node_modules${sep}`);
  return parts.slice(1, -1).map((p) => p.split(sep).join('/'));
}

/** The bare specifier that loads `file` of package `pkg`, honouring its exports map; null if none does. */
function specifierFor(pkg: PackageInfo, file: string): string | null {
  const sub = './' + relative(pkg.root, file).split(sep).join('/');
  if (pkg.exports !== undefined && pkg.exports !== null) {
    const entries: [string, unknown][] = typeof pkg.exports === 'string' || Array.isArray(pkg.exports) ||
      !Object.keys(pkg.exports as object).some((k) => k.startsWith('.'))
      ? [['.', pkg.exports]]
      : Object.entries(pkg.exports as Record<string, unknown>);
    for (const [key, target] of entries) {
      for (const t of targets(target)) {
        if (key.includes('*') && t.includes('*')) {
          const [tp, ts] = t.split('*') as [string, string];
          if (sub.startsWith(tp) && sub.endsWith(ts)) {
            const middle = sub.slice(tp.length, sub.length - ts.length);
            return join2(pkg.name, key.replace('*', middle));
          }
        } else if (normalizeSub(t) === sub) {
          return join2(pkg.name, key);
        }
      }
    }
    return null;
  }
  const main = normalizeSub(pkg.main ?? './index.js');
  if (sub === main || sub === main + '.js' || sub === main.replace(/\/?$/, '/index.js')) return pkg.name;
  return `${pkg.name}/${sub.slice(2)}`;
}

function join2(name: string, key: string): string {
  return key === '.' ? name : `${name}/${key.replace(/^\.\//, '')}`;
}

function normalizeSub(p: string): string {
  return p.startsWith('./') ? p : './' + p.replace(/^\/+/, '');
}

/** Targets of an exports entry for Node's CommonJS and ESM conditions. */
function targets(t: unknown): string[] {
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.flatMap(targets);
  if (t !== null && typeof t === 'object') {
    const out: string[] = [];
    for (const [cond, v] of Object.entries(t as Record<string, unknown>)) {
      if (cond === 'node' || cond === 'require' || cond === 'import' || cond === 'default' || cond === 'module-sync') out.push(...targets(v));
    }
    return out;
  }
  return [];
}

// ------------------------------------------------------------------------------- CommonJS value index

interface IndexEntry { ref: ModuleRef; file: string }

const requireHere = createRequire(join(process.cwd(), 'pikala-resolver.js'));

/** Exports (and their direct members) of every installed module in the CommonJS cache, by identity. */
class PackageIndex {
  private readonly byValue = new Map<unknown, IndexEntry>();
  private indexed = new Set<string>();
  private version = -1;

  refresh(): void {
    const cache = requireHere.cache;
    const files = Object.keys(cache);
    if (files.length === this.version) return;
    this.version = files.length;
    for (const file of files) {
      if (this.indexed.has(file) || !isInstalled(file)) continue;
      this.indexed.add(file);
      const mod = cache[file];
      if (!mod || !mod.loaded) continue;
      const pkg = packageOf(file);
      if (pkg === null) continue;
      const specifier = specifierFor(pkg, file);
      if (specifier === null) continue;
      const via = nestingOf(pkg.root);
      this.add(mod.exports, new ModuleRef(specifier, [], 'value', pkg.name, pkg.version, false, via), file);
      const exp = mod.exports as unknown;
      if (exp !== null && (typeof exp === 'object' || typeof exp === 'function')) {
        for (const key of ReflectOwnKeys(exp as object)) {
          if (typeof key !== 'string' || key === 'prototype' || key === 'default' && typeof exp === 'function') continue;
          const d = ObjectGetOwnPropertyDescriptor(exp as object, key);
          if (d === undefined || !('value' in d)) continue;
          this.add(d.value, new ModuleRef(specifier, [key], 'value', pkg.name, pkg.version, false, via), file);
        }
      }
    }
  }

  private add(v: unknown, ref: ModuleRef, file: string): void {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return;
    const existing = this.byValue.get(v);
    // Prefer the shortest reference (the package main over a deep file).
    if (existing === undefined || ref.path.length + ref.specifier.length < existing.ref.path.length + existing.ref.specifier.length) {
      this.byValue.set(v, { ref, file });
    }
  }

  lookup(v: unknown): ModuleRef | undefined {
    const e = this.byValue.get(v);
    if (e === undefined || isByValue(e.ref.packageName, e.file)) return undefined;
    return e.ref;
  }
}

let index: PackageIndex | null = null;

/** Indexes modules loaded since the last call (once per dumps call: no module loads during a dump). */
export function refreshPackageIndex(): void {
  index ??= new PackageIndex();
  index.refresh();
}

/** The package member `v` is, if it comes from an installed module (as of the last refresh). */
export function packageRefOf(v: unknown): ModuleRef | undefined {
  if (index === null) refreshPackageIndex();
  return index!.lookup(v);
}

/** Whether `fn` is a CommonJS `require` function (each module gets its own). */
export function isRequireFunction(fn: unknown): boolean {
  if (typeof fn !== 'function' || isProxy(fn)) return false;
  const r = ObjectGetOwnPropertyDescriptor(fn, 'resolve');
  const c = ObjectGetOwnPropertyDescriptor(fn, 'cache');
  return r !== undefined && typeof r.value === 'function' && c !== undefined && typeof c.value === 'object' &&
    typeof (r.value as { paths?: unknown }).paths === 'function';
}

// ------------------------------------------------------------------------------------- ES imports

export interface ImportBinding { source: string; imported: string }

/**
 * The import bindings of an ES module's source that refer to installed packages or built-ins (not the
 * program's own files, which travel by value), by local name.
 */
export function packageImports(ast: { body: unknown[] } | null, moduleFile: string | null): Map<string, ImportBinding> {
  const out = new Map<string, ImportBinding>();
  if (ast === null) return out;
  for (const node of ast.body as { type: string; source?: { value: string }; specifiers?: { type: string; local: { name: string }; imported?: { name?: string; value?: string } }[] }[]) {
    if (node.type !== 'ImportDeclaration' || !node.source) continue;
    const source = node.source.value;
    if (source.startsWith('.') || source.startsWith('/') || source.startsWith('file:')) continue;
    if (source.startsWith('node:') || builtinModules.includes(source)) {
      // Built-in members are found by value (the registry); only namespace objects need the import.
      for (const s of node.specifiers ?? []) {
        if (s.type === 'ImportNamespaceSpecifier') out.set(s.local.name, { source: source.startsWith('node:') ? source : `node:${source}`, imported: '*' });
      }
      continue;
    }
    const pkgName = source.startsWith('@') ? source.split('/').slice(0, 2).join('/') : source.split('/')[0]!;
    if (isByValue(pkgName, null)) continue;
    for (const s of node.specifiers ?? []) {
      const imported = s.type === 'ImportDefaultSpecifier' ? 'default'
        : s.type === 'ImportNamespaceSpecifier' ? '*'
        : (s.imported?.name ?? s.imported?.value ?? s.local.name);
      out.set(s.local.name, { source, imported });
    }
  }
  void moduleFile;
  return out;
}

/** The package name and version of `specifier` as the module at `fromFile` resolves it. */
export function packageVersionOf(specifier: string, fromFile: string | null): { name: string; version: string; via: string[] } {
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
  if (fromFile === null) return { name, version: '', via: [] };
  try {
    const req = createRequire(fromFile);
    let file: string;
    try { file = req.resolve(specifier); } catch { file = req.resolve(`${name}/package.json`); }
    const pkg = packageOf(file);
    return { name, version: pkg?.version ?? '', via: pkg === null ? [] : nestingOf(pkg.root) };
  } catch {
    return { name, version: '', via: [] };
  }
}

/**
 * The package member `value` is, found through the file that defined it (a function of an ES module under
 * node_modules: ES modules are not in the require cache, so the index above cannot see them). The module's
 * exports are searched by identity, then the package main's (re-exports).
 */
export function esmPackageRef(value: object, definingUrl: string | undefined): ModuleRef | undefined {
  if (definingUrl === undefined || !definingUrl.startsWith('file:')) return undefined;
  const file = fileURLToPath(definingUrl);
  if (!isInstalled(file)) return undefined;
  const pkg = packageOf(file);
  if (pkg === null || isByValue(pkg.name, file)) return undefined;
  const candidates: [string, string][] = [];
  const own = specifierFor(pkg, file);
  if (own !== null) candidates.push([own, file]);
  const main = resolveImport(pkg.name, file);
  if (main !== undefined && main !== file) candidates.push([pkg.name, main]);
  for (const [specifier, target] of candidates) {
    let ns: unknown;
    try { ns = createRequire(target)(target); } catch { continue; }
    if (ns === null || (typeof ns !== 'object' && typeof ns !== 'function')) continue;
    const via = nestingOf(pkg.root);
    if (ns === value) return new ModuleRef(specifier, [], 'namespace', pkg.name, pkg.version, true, via);
    for (const key of Object.keys(ns as object)) {
      const d = ObjectGetOwnPropertyDescriptor(ns as object, key);
      if (d !== undefined && 'value' in d && d.value === value) return new ModuleRef(specifier, [key], 'value', pkg.name, pkg.version, true, via);
    }
  }
  return undefined;
}

// ------------------------------------------------------------------------------------- receiver side

export interface ResolveOptions {
  resolveFrom?: string;
  versionMismatch?: 'warn' | 'error' | 'ignore';
}

/** Where the receiving application's own imports resolve: its entry script's folder, else the cwd. */
export function defaultBase(): string {
  // With -e/-p or a REPL there is no entry script, and argv[1] is the first user argument.
  const entry = process.argv[1];
  if (entry && !process.execArgv.some((a) => a === '-e' || a === '--eval' || a === '-p' || a === '--print' ||
    a.startsWith('--eval=') || a.startsWith('--print='))) {
    try { if (statSync(entry).isFile()) return dirname(resolve(entry)); } catch { /* not a file: REPL, -e */ }
  }
  return process.cwd();
}

function baseFile(resolveFrom: string | undefined): string {
  let base = resolveFrom ?? defaultBase();
  if (base.startsWith('file:')) base = fileURLToPath(base);
  try { if (statSync(base).isFile()) return resolve(base); } catch { /* a folder, or missing */ }
  return join(resolve(base), 'pikala-resolver.js');
}

/** The folder module references and shipped import() calls resolve from on this receiver. */
export function resolutionFolder(resolveFrom: string | undefined): string {
  // Asked on every load of code: remembered (the entry script and a given resolveFrom do not move).
  const key = resolveFrom ?? '';
  let folder = folders.get(key);
  if (folder === undefined) {
    folder = dirname(baseFile(resolveFrom));
    if (folders.size > 64) folders.clear();
    folders.set(key, folder);
  }
  return folder;
}
const folders = new Map<string, string>();

const warned = new Set<string>();

/** Loads a module reference on the receiver. */
export function loadModuleRef(ref: ModuleRef, options: ResolveOptions): unknown {
  let from = baseFile(options.resolveFrom);
  // Into the packages the producer's copy was nested in, as far as this tree has them (a hoisted copy is
  // then found from the last one reached, as Node would).
  for (const name of ref.via) {
    const root = packageRootFrom(name, from);
    if (root === undefined) break;
    from = join(root, 'pikala-resolver.js');
  }
  const req = createRequire(from);
  if (ref.kind === 'require') return req;
  let exportsValue: unknown;
  let file: string | undefined;
  try {
    // An import resolves with the "import" condition (an import-only subpath, the ES flavour of a dual
    // package); require(esm) then loads that file synchronously.
    file = ref.viaImport ? resolveImport(ref.specifier, from) ?? req.resolve(ref.specifier) : req.resolve(ref.specifier);
    exportsValue = req(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      throw new PikalaError('PIKALA_MODULE_NOT_FOUND',
        `module '${ref.specifier}' is not installed where this process resolves modules (${dirname(from)}); ` +
        `the payload was made with ${ref.packageName}@${ref.version || 'unknown version'}. Install it, or pass ` +
        'loads(b, { resolveFrom }) to resolve from another folder', { cause: e });
    }
    throw new PikalaError('PIKALA_MODULE_NOT_FOUND', `module '${ref.specifier}' failed to load here: ${(e as Error).message}`, { cause: e });
  }
  if (ref.version && file !== undefined && !builtinModules.includes(ref.specifier)) {
    const pkg = packageOf(file);
    if (pkg !== null && pkg.version !== ref.version && options.versionMismatch !== 'ignore') {
      const message = `${ref.packageName} is ${pkg.version} here but ${ref.version} where the payload was made`;
      if (options.versionMismatch === 'error') throw new PikalaError('PIKALA_MODULE_VERSION', message);
      if (!warned.has(message)) {
        warned.add(message);
        process.emitWarning(message, { code: 'PIKALA_MODULE_VERSION' });
      }
    }
  }
  let v = exportsValue;
  if (ref.kind === 'namespace') return namespaceOf(exportsValue);
  for (const key of ref.path) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
      throw new PikalaError('PIKALA_MODULE_NOT_FOUND', `'${ref.specifier}' has no export ${ref.path.join('.')} here`);
    }
    v = (v as Record<string, unknown>)[key];
  }
  if (v === undefined && ref.path.length !== 0) {
    throw new PikalaError('PIKALA_MODULE_NOT_FOUND', `'${ref.specifier}' has no export ${ref.path.join('.')} here`);
  }
  return v;
}

/** The folder of package `name` as seen from `fromFile` (node_modules lookup up the folders). */
function packageRootFrom(name: string, fromFile: string): string | undefined {
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(join(root, 'package.json'))) return root;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Resolves a bare specifier the way `import` would, for packages with an exports map (conditions node,
 * import, module-sync, default; subpath patterns with one `*`). Undefined when the package has no exports
 * map or is not found (the caller then uses require's resolution).
 */
function resolveImport(specifier: string, fromFile: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  const subpath = '.' + specifier.slice(name.length);
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', name);
    const pj = join(root, 'package.json');
    if (existsSync(pj)) {
      let json: { exports?: unknown };
      try { json = JSON.parse(readFileSync(pj, 'utf8')) as { exports?: unknown }; } catch { return undefined; }
      if (json.exports === undefined || json.exports === null) return undefined;
      const exp = json.exports;
      const map: Record<string, unknown> = typeof exp === 'string' || Array.isArray(exp) ||
        !Object.keys(exp as object).some((k) => k.startsWith('.')) ? { '.': exp } : exp as Record<string, unknown>;
      let target: string | undefined;
      if (Object.prototype.hasOwnProperty.call(map, subpath)) {
        target = pickTarget(map[subpath], '');
      } else {
        for (const [key, value] of Object.entries(map)) {
          const star = key.indexOf('*');
          if (star < 0) continue;
          const head = key.slice(0, star), tail = key.slice(star + 1);
          if (subpath.startsWith(head) && subpath.endsWith(tail) && subpath.length >= key.length - 1) {
            target = pickTarget(value, subpath.slice(head.length, subpath.length - tail.length));
            break;
          }
        }
      }
      return target === undefined ? undefined : join(root, target);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

const IMPORT_CONDITIONS = ['node', 'import', 'module-sync', 'default'];

function pickTarget(t: unknown, star: string): string | undefined {
  if (typeof t === 'string') return t.startsWith('./') ? t.replace('*', star) : undefined;
  if (Array.isArray(t)) {
    for (const x of t) { const r = pickTarget(x, star); if (r !== undefined) return r; }
    return undefined;
  }
  if (t !== null && typeof t === 'object') {
    for (const [cond, v] of Object.entries(t as Record<string, unknown>)) {
      if (IMPORT_CONDITIONS.includes(cond)) { const r = pickTarget(v, star); if (r !== undefined) return r; }
    }
  }
  return undefined;
}

const namespaces = new WeakMap<object, object>();

/** `import * as ns` of a CommonJS module: its own enumerable exports plus `default`, like Node builds it. */
function namespaceOf(exportsValue: unknown): unknown {
  if (exportsValue === null || (typeof exportsValue !== 'object' && typeof exportsValue !== 'function')) {
    return Object.freeze({ __proto__: null, default: exportsValue, [Symbol.toStringTag]: 'Module' });
  }
  if (Object.prototype.toString.call(exportsValue) === '[object Module]') return exportsValue; // require(esm)
  let ns = namespaces.get(exportsValue as object);
  if (ns === undefined) {
    const o: Record<PropertyKey, unknown> = Object.create(null);
    for (const key of Object.keys(exportsValue as object)) {
      if (key === 'default') continue;
      const d = ObjectGetOwnPropertyDescriptor(exportsValue as object, key);
      if (d !== undefined && 'value' in d) o[key] = d.value;
    }
    o.default = exportsValue;
    Object.defineProperty(o, Symbol.toStringTag, { value: 'Module' });
    ns = Object.freeze(o);
    namespaces.set(exportsValue as object, ns);
  }
  return ns;
}

