/**
 * Facts about the script a function was defined in: its source text and whether the function's position is
 * strict code. Strictness is not in a function's own text (an arrow in a module or under a 'use strict'
 * prologue is strict), and a function rebuilt with the wrong mode behaves differently (`this`, assignments
 * to undeclared names), so pikala reads the defining script once (cached by script id) to decide.
 */
import { acorn, type AcornOptions, analyzeScopes } from './parsers.js';
import type * as ESTree from 'estree';
import { maps } from '../util/natives.js';
import { scriptSourceById } from './inspector.js';

interface ScriptInfo {
  source: string;
  ast: ESTree.Program | null;
  isModule: boolean;
  /** Names of variables some function assigns while another function declares them (lazily computed). */
  closureWrites?: Set<string> | null;
  /** enclosingFunctionNames by function offset (lazily filled). */
  enclosingNames?: Map<number, Set<string>>;
}

const scripts = new Map<string, ScriptInfo>();
const SCRIPT_CACHE_LIMIT = 256;

function parse(source: string): { ast: ESTree.Program | null; isModule: boolean } {
  const base: AcornOptions = {
    ecmaVersion: 'latest', allowReturnOutsideFunction: true, allowHashBang: true, allowAwaitOutsideFunction: true,
    allowImportExportEverywhere: false, ranges: true,
  };
  try {
    return { ast: acorn.parse(source, { ...base, sourceType: 'script' }) as unknown as ESTree.Program, isModule: false };
  } catch {
    try {
      return { ast: acorn.parse(source, { ...base, sourceType: 'module' }) as unknown as ESTree.Program, isModule: true };
    } catch {
      return { ast: null, isModule: false };
    }
  }
}

export function scriptInfo(scriptId: string, fn: Function): ScriptInfo | undefined {
  let info = scripts.get(scriptId);
  if (info !== undefined) return info;
  let source: string | undefined;
  try { source = maps?.scriptSource(fn); } catch { source = undefined; }
  if (typeof source !== 'string') source = scriptSourceById(scriptId);
  if (typeof source !== 'string') return undefined;
  const { ast, isModule } = parse(source);
  info = { source, ast, isModule };
  if (scripts.size >= SCRIPT_CACHE_LIMIT) scripts.delete(scripts.keys().next().value!);
  scripts.set(scriptId, info);
  return info;
}

// Between `function` (or `function*`) and a function's name: white space, comments, the generator star.
const BEFORE_NAME = String.raw`(?:\s|\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\/|\/\/[^\n\r\u2028\u2029]*|<!--[^\n\r\u2028\u2029]*|-->[^\n\r\u2028\u2029]*|\*)*`;

/**
 * False when no function in `fn`'s script can be named one of `names` (so none of them is the name of an
 * enclosing function expression), read from the text without parsing it: a whole-script parse is the
 * costliest part of a first dump, and most free names (Math, console) never name a function. True when it
 * may, or when pikala cannot tell (no source; a `\u` escape could spell a name).
 */
export function mayNameFunction(fn: Function, names: readonly string[]): boolean {
  let source: string | undefined;
  try { source = maps?.scriptSource(fn); } catch { source = undefined; }
  if (typeof source !== 'string' || source.includes('\\u')) return true;
  const alternatives = names.map((n) => n.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('|');
  return new RegExp(`function${BEFORE_NAME}(?:${alternatives})`).test(source);
}

/** The offset of `fn` in its script. */
export function functionOffset(fn: Function, info: ScriptInfo, line: number, column: number): number {
  try {
    const p = maps?.scriptPosition(fn);
    if (typeof p === 'number' && p >= 0) return p;
  } catch { /* fall through */ }
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const nl = info.source.indexOf('\n', offset);
    if (nl < 0) return -1;
    offset = nl + 1;
  }
  return offset + column;
}

/**
 * Whether code at `offset` in the script is strict: a module, a 'use strict' prologue of the script or of an
 * enclosing function, or an enclosing class body. Returns undefined when the script cannot be parsed.
 */
export function strictAt(info: ScriptInfo, offset: number): boolean | undefined {
  if (info.ast === null) return undefined;
  if (info.isModule || hasDirective(info.ast.body)) return true;
  for (const [, node] of pathTo(info.ast, offset)) {
    // The function at `offset` itself: its own prologue is the caller's business (ownStrict).
    if (startOf(node) === offset && isFunctionLike(node)) return false;
    if (node.type === 'ClassBody') return true;
    if (isFunctionLike(node)) {
      const body = (node as ESTree.Function).body;
      if (body && body.type === 'BlockStatement' && hasDirective(body.body)) return true;
    }
  }
  return false;
}

/**
 * Names of the named function expressions that enclose the function at `offset` (`function self() { ... }`
 * around it): bindings of their own name that V8's scope view leaves out. Null when the script cannot be parsed.
 */
export function enclosingFunctionNames(info: ScriptInfo, offset: number): Set<string> | null {
  if (info.ast === null) return null;
  const cache = (info.enclosingNames ??= new Map());
  let names = cache.get(offset);
  if (names === undefined) cache.set(offset, names = findEnclosingFunctionNames(info.ast, offset));
  return names;
}

function findEnclosingFunctionNames(ast: ESTree.Program, offset: number): Set<string> {
  const names = new Set<string>();
  for (const [, node] of pathTo(ast, offset)) {
    if (startOf(node) === offset) break;
    if (node.type === 'FunctionExpression' && node.id) names.add(node.id.name);
  }
  return names;
}

/** The class member (method, field or static block) whose code holds the arrow at `offset`. */
export interface ClassMemberSite {
  /** The class's text, as its constructor's toString gives it. */
  classText: string;
  isStatic: boolean;
}

/**
 * The class member whose `super` an arrow at `offset` uses: null when the innermost enclosing method is an
 * object literal's (or there is none), or when the script cannot be parsed.
 */
export function enclosingClassMember(info: ScriptInfo, offset: number): ClassMemberSite | null {
  if (info.ast === null) return null;
  let site: ClassMemberSite | null = null;
  let cls: ESTree.Class | null = null;
  for (const [parent, node] of pathTo(info.ast, offset)) {
    if (startOf(node) === offset) break;
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') cls = node;
    if (cls !== null && parent.type === 'ClassBody') {
      const member = node as ESTree.MethodDefinition | ESTree.PropertyDefinition | ESTree.StaticBlock;
      site = { classText: info.source.slice(startOf(cls), endOf(cls)), isStatic: member.type === 'StaticBlock' || !!member.static };
    } else if ((node.type === 'FunctionExpression' && parent.type !== 'MethodDefinition') || node.type === 'FunctionDeclaration') {
      site = null;
    }
  }
  return site;
}

/** The nodes whose range holds `offset`, outermost first, each with its parent. */
function* pathTo(ast: ESTree.Program, offset: number): Generator<[ESTree.Node, ESTree.Node]> {
  let parent: ESTree.Node = ast;
  for (;;) {
    let next: ESTree.Node | null = null;
    for (const child of children(parent)) {
      if (startOf(child) <= offset && offset < endOf(child)) { next = child; break; }
    }
    if (next === null) return;
    yield [parent, next];
    parent = next;
  }
}

const startOf = (n: ESTree.Node) => (n as unknown as { start: number }).start;
const endOf = (n: ESTree.Node) => (n as unknown as { end: number }).end;

function isFunctionLike(n: ESTree.Node): boolean {
  return n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';
}

function hasDirective(body: ESTree.Node[]): boolean {
  for (const s of body) {
    if (s.type !== 'ExpressionStatement' || typeof (s as ESTree.Directive).directive !== 'string') return false;
    if ((s as ESTree.Directive).directive === 'use strict') return true;
  }
  return false;
}

function* children(n: ESTree.Node): Iterable<ESTree.Node> {
  for (const key of Object.keys(n)) {
    const v = (n as unknown as Record<string, unknown>)[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c === 'object' && typeof (c as ESTree.Node).type === 'string') yield c as ESTree.Node;
    } else if (v && typeof v === 'object' && typeof (v as ESTree.Node).type === 'string') {
      yield v as ESTree.Node;
    }
  }
}

/**
 * Variable names that a function assigns although an enclosing function declares them: the only variables
 * whose sharing between closures is observable after load (closure-mutated state, like a counter's `n`).
 * Name-based across the script, so it errs on the side of "mutable". Null when the script did not parse.
 */
export function closureWrites(info: ScriptInfo): Set<string> | null {
  if (info.closureWrites !== undefined) return info.closureWrites;
  let out: Set<string> | null = null;
  if (info.ast !== null) {
    try {
      const manager = analyzeScopes(info.ast as never, {
        ecmaVersion: 2022, sourceType: info.isModule ? 'module' : 'script', nodejsScope: false,
      } as never) as unknown as { scopes: { variables: { name: string; scope: { variableScope: unknown }; references: { isWrite(): boolean; from: { variableScope: unknown }; init?: boolean }[] }[] }[] };
      out = new Set();
      for (const scope of manager.scopes) {
        for (const v of scope.variables) {
          for (const ref of v.references) {
            if (ref.isWrite() && ref.from.variableScope !== v.scope.variableScope) { out.add(v.name); break; }
          }
        }
      }
    } catch {
      out = null;
    }
  }
  info.closureWrites = out;
  return out;
}
