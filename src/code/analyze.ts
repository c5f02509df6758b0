/**
 * Static analysis of a function's source text (`Function.prototype.toString`), cached by text:
 * what kind of definition it is, which names it uses from outside (free variables), which of those it
 * assigns (the write set, which decides when scope sharing must be exact), and whether it uses `this`,
 * `arguments`, `super`, `new.target`, direct `eval` or `with`.
 *
 * Parsing is acorn's; scope resolution is eslint-scope's (hoisting, TDZ blocks, parameter scopes, class
 * field and static-block scopes, catch clauses, named function expressions are all its job).
 */
import { PikalaError } from '../api/errors.js';
import { acorn, type AcornOptions, type AcornNode, analyzeScopes } from './parsers.js';
import type * as ESTree from 'estree';

export type FunctionKind =
  | 'arrow' | 'function' | 'class' | 'method' | 'get' | 'set' | 'native';

export interface SourceAnalysis {
  kind: FunctionKind;
  isAsync: boolean;
  isGenerator: boolean;
  /** Names used but not declared inside, in first-use order. */
  free: string[];
  /** Free names that are assigned (x = ..., x++, destructuring, for-of targets). */
  writes: Set<string>;
  usesThis: boolean;
  usesArguments: boolean;
  usesSuper: boolean;
  usesNewTarget: boolean;
  usesDirectEval: boolean;
  usesWith: boolean;
  /** The text has its own 'use strict' directive. */
  ownStrict: boolean;
  /** For methods and accessors: the key's text range and whether it is computed. */
  key?: { start: number; end: number; computed: boolean; isPrivate: boolean; name: string | null };
  /** For classes: the class name, heritage range. */
  className?: string | null;
  heritage?: { start: number; end: number };
  /** The parsed root node (positions are offsets into the text). */
  ast: ESTree.Node;
}

const ACORN: AcornOptions = { ecmaVersion: 'latest', sourceType: 'script', ranges: true, allowHashBang: false };
const cache = new Map<string, SourceAnalysis | Error>();
const CACHE_LIMIT = 4096;

export class SourceError extends Error {}

/** Analyses a function's text; throws SourceError when it cannot be parsed. */
export function analyzeSource(text: string): SourceAnalysis {
  const hit = cache.get(text);
  if (hit !== undefined) {
    if (hit instanceof Error) throw hit;
    return hit;
  }
  let result: SourceAnalysis | Error;
  try {
    result = analyzeUncached(text);
  } catch (e) {
    // The parsers themselves missing is no fact about this text: not cached, not disguised as a parse error.
    if (e instanceof PikalaError) throw e;
    result = e instanceof SourceError ? e : new SourceError(`cannot parse function source: ${(e as Error).message}`);
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(text, result);
  if (result instanceof Error) throw result;
  return result;
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

function analyzeUncached(text: string): SourceAnalysis {
  if (NATIVE.test(text)) {
    return { ...empty(), kind: 'native', ast: { type: 'Program', body: [], sourceType: 'script' } as ESTree.Program };
  }
  // 1. A complete expression: arrow, function, class.
  let node: AcornNode | null = null;
  try {
    const expr = acorn.parseExpressionAt(text, 0, ACORN);
    if (expr.end === text.length || text.slice(expr.end).trim() === '') node = expr;
  } catch { /* not an expression on its own */ }
  if (node !== null && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression' || node.type === 'ClassExpression')) {
    const n = node as unknown as ESTree.Function | ESTree.ClassExpression;
    if (n.type === 'ClassExpression') return analyzeClass(text, n);
    // Arrows can use super and new.target of their home: parse inside a method so both are legal.
    if (n.type === 'ArrowFunctionExpression' && /\bsuper\b|\bnew\s*\.\s*target\b/.test(text)) {
      return analyzeWrapped(text, 'arrow');
    }
    return analyzeFunction(text, n, n.type === 'ArrowFunctionExpression' ? 'arrow' : 'function', 0);
  }
  // 2. An arrow that uses super or new.target does not parse on its own, only inside a method.
  if (node === null && /=>/.test(text)) {
    try { return analyzeWrapped(text, 'arrow'); } catch { /* not such an arrow */ }
  }
  // 3. A method, getter or setter (object literal or class member text).
  return analyzeMethod(text);
}

function empty(): Omit<SourceAnalysis, 'kind' | 'ast'> {
  return {
    isAsync: false, isGenerator: false, free: [], writes: new Set(), usesThis: false, usesArguments: false,
    usesSuper: false, usesNewTarget: false, usesDirectEval: false, usesWith: false, ownStrict: false,
  };
}

function parseProgram(code: string): ESTree.Program {
  return acorn.parse(code, ACORN) as unknown as ESTree.Program;
}

function analyzeFunction(text: string, fn: ESTree.Function, kind: FunctionKind, offset: number): SourceAnalysis {
  // Re-parse as a program so eslint-scope sees a complete tree: `(text)`.
  const program = parseProgram(`(${text}\n)`);
  const stmt = program.body[0] as ESTree.ExpressionStatement;
  const root = stmt.expression as ESTree.Function;
  const res = resolve(program, root, kind === 'arrow');
  return {
    ...res,
    kind,
    isAsync: !!fn.async,
    isGenerator: !!fn.generator,
    ownStrict: hasUseStrict(root),
    ast: shift(root, 1 + offset),
  };
}

function analyzeWrapped(text: string, kind: FunctionKind): SourceAnalysis {
  const prefix = '({ __pikala_m() { return (';
  const program = parseProgram(`${prefix}${text}\n) } })`);
  const obj = (program.body[0] as ESTree.ExpressionStatement).expression as ESTree.ObjectExpression;
  const method = (obj.properties[0] as ESTree.Property).value as ESTree.FunctionExpression;
  const ret = method.body.body[0] as ESTree.ReturnStatement;
  const root = ret.argument as ESTree.ArrowFunctionExpression & { end: number };
  if (method.body.body.length !== 1 || root.type !== 'ArrowFunctionExpression' || root.end !== prefix.length + text.length) {
    throw new SourceError('not an arrow function');
  }
  const res = resolve(program, root, true, method);
  return { ...res, kind, isAsync: !!root.async, isGenerator: false, ownStrict: false, ast: shift(root, prefix.length) };
}

/** Analyses a text as a method (for `function() {}`, a method named function). */
export function analyzeMethodText(text: string): SourceAnalysis {
  return analyzeMethod(text);
}

function analyzeMethod(text: string): SourceAnalysis {
  let program: ESTree.Program;
  let prop: ESTree.Property | ESTree.MethodDefinition;
  let prefix: string;
  try {
    prefix = '({';
    program = parseProgram(`${prefix}${text}\n})`);
    const obj = (program.body[0] as ESTree.ExpressionStatement).expression as ESTree.ObjectExpression;
    if (obj.properties.length !== 1) throw new SourceError('not a single method');
    prop = obj.properties[0] as ESTree.Property;
    if (!prop.method && prop.kind === 'init') throw new SourceError('not a method');
  } catch {
    // Class members may use #private names, which only parse inside a class body.
    prefix = '(class {';
    try {
      program = parseProgram(`${prefix}${text}\n})`);
    } catch (e) {
      throw new SourceError(`cannot parse function source: ${(e as Error).message}`);
    }
    const cls = (program.body[0] as ESTree.ExpressionStatement).expression as ESTree.ClassExpression;
    if (cls.body.body.length !== 1 || cls.body.body[0]!.type !== 'MethodDefinition') throw new SourceError('not a method');
    prop = cls.body.body[0] as ESTree.MethodDefinition;
  }
  const fn = prop.value as ESTree.FunctionExpression;
  const res = resolve(program, fn, false, undefined, prop.computed ? (prop.key as ESTree.Node) : undefined, true);
  const k = prop.key as ESTree.Node & { start: number; end: number };
  const kindName = prop.kind === 'get' ? 'get' : prop.kind === 'set' ? 'set' : 'method';
  // Widen a computed key to its brackets.
  let start = k.start - prefix.length, end = k.end - prefix.length;
  if (prop.computed) {
    start = text.lastIndexOf('[', start);
    end = text.indexOf(']', end) + 1;
  }
  const name = prop.key.type === 'Identifier' && !prop.computed ? prop.key.name
    : prop.key.type === 'Literal' && !prop.computed ? String(prop.key.value)
    : prop.key.type === 'PrivateIdentifier' ? '#' + prop.key.name : null;
  return {
    ...res,
    kind: kindName,
    isAsync: !!fn.async,
    isGenerator: !!fn.generator,
    ownStrict: hasUseStrict(fn),
    key: { start, end, computed: prop.computed, isPrivate: prop.key.type === 'PrivateIdentifier', name },
    ast: shift(fn, prefix.length),
  };
}

function analyzeClass(text: string, _cls: ESTree.ClassExpression): SourceAnalysis {
  const program = parseProgram(`(${text}\n)`);
  const cls = (program.body[0] as ESTree.ExpressionStatement).expression as ESTree.ClassExpression & { superClass: (ESTree.Node & { start: number; end: number }) | null };
  const res = resolve(program, cls, false);
  return {
    ...res,
    kind: 'class',
    isAsync: false,
    isGenerator: false,
    ownStrict: true,
    className: cls.id ? cls.id.name : null,
    ...(cls.superClass ? { heritage: { start: cls.superClass.start - 1, end: cls.superClass.end - 1 } } : {}),
    ast: shift(cls, 1),
  };
}

/**
 * Free names of `root` (everything that resolves to the program's global scope), the write set, and the
 * flags. `wrapper` is a synthetic method around an arrow: references to its implicit `arguments` are free.
 * `skip` is a computed key, which is evaluated where the method is defined, not captured by it.
 */
function resolve(program: ESTree.Program, root: ESTree.Node, isArrow: boolean, wrapper?: ESTree.Function,
  skip?: ESTree.Node, isMethod = false): Omit<SourceAnalysis, 'kind' | 'ast' | 'isAsync' | 'isGenerator' | 'ownStrict'> {
  const manager = analyzeScopes(program as never, { ecmaVersion: 2022, sourceType: 'script' } as never);
  const free: string[] = [];
  const seen = new Set<string>();
  const writes = new Set<string>();
  const skipRange = skip ? (skip as unknown as { range: [number, number] }).range : null;
  const inSkip = (id: ESTree.Node) => {
    if (!skipRange) return false;
    const r = (id as unknown as { range: [number, number] }).range;
    return r[0] >= skipRange[0] && r[1] <= skipRange[1];
  };
  const add = (name: string, write: boolean) => {
    if (!seen.has(name)) { seen.add(name); free.push(name); }
    if (write) writes.add(name);
  };
  for (const ref of manager.globalScope!.through) {
    if (inSkip(ref.identifier as ESTree.Node)) continue;
    add(ref.identifier.name, ref.isWrite());
  }
  let usesArguments = false;
  if (wrapper) {
    const scope = manager.acquire(wrapper as never);
    const args = scope?.set.get('arguments');
    if (args && args.references.length > 0) { usesArguments = true; add('arguments', false); }
  } else if (isArrow && seen.has('arguments')) {
    usesArguments = true;
  }
  const flags = { usesThis: false, usesSuper: false, usesNewTarget: false, usesDirectEval: false, usesWith: false };
  walkFlags(root, isArrow, isMethod, flags);
  flags.usesDirectEval = seen.has('eval') && flags.usesDirectEval;
  return { free, writes, usesArguments, ...flags };
}

type Flags = { usesThis: boolean; usesSuper: boolean; usesNewTarget: boolean; usesDirectEval: boolean; usesWith: boolean };

/**
 * Walks the tree for this/new.target that belong to the root's outside (only when the root is an arrow),
 * super that refers to the root's home object (root is a method or an arrow), and direct eval / with
 * anywhere. Non-arrow functions, class bodies, static blocks and field initializers have their own.
 */
function walkFlags(root: ESTree.Node, rootIsArrow: boolean, rootIsMethod: boolean, flags: Flags): void {
  const stack: [ESTree.Node, boolean, boolean][] = [[root, rootIsArrow, rootIsArrow || rootIsMethod]];
  while (stack.length !== 0) {
    const [n, thisLexical, superLexical] = stack.pop()!;
    switch (n.type) {
      case 'ThisExpression': if (thisLexical) flags.usesThis = true; break;
      case 'Super': if (superLexical) flags.usesSuper = true; break;
      case 'MetaProperty': if (thisLexical && n.meta.name === 'new') flags.usesNewTarget = true; break;
      case 'WithStatement': flags.usesWith = true; break;
      case 'CallExpression': if (n.callee.type === 'Identifier' && n.callee.name === 'eval') flags.usesDirectEval = true; break;
    }
    const owns = n !== root && (n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration' ||
      n.type === 'ClassBody' || n.type === 'StaticBlock' || n.type === 'PropertyDefinition');
    const t = owns ? false : thisLexical;
    const su = owns ? false : superLexical;
    for (const key of Object.keys(n)) {
      if (key === 'parent' || key === 'range' || key === 'loc') continue;
      const v = (n as unknown as Record<string, unknown>)[key];
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) {
          const c = v[i];
          if (c && typeof c === 'object' && typeof (c as ESTree.Node).type === 'string') stack.push([c as ESTree.Node, t, su]);
        }
      } else if (v && typeof v === 'object' && typeof (v as ESTree.Node).type === 'string') {
        // A class's heritage is evaluated outside its body.
        if (key === 'superClass') stack.push([v as ESTree.Node, thisLexical, superLexical]);
        else stack.push([v as ESTree.Node, t, su]);
      }
    }
  }
}

function hasUseStrict(fn: ESTree.Function | ESTree.Node): boolean {
  const body = (fn as ESTree.Function).body;
  if (!body || body.type !== 'BlockStatement') return false;
  for (const s of body.body) {
    if (s.type !== 'ExpressionStatement' || !('directive' in s)) break;
    if ((s as ESTree.Directive).directive === 'use strict') return true;
  }
  return false;
}

/** Records the offset to subtract from node positions to get positions in the original text. */
function shift<T extends ESTree.Node>(node: T, offset: number): T {
  (node as unknown as { pikalaOffset: number }).pikalaOffset = offset;
  return node;
}

/** Start/end of a node in the original text. */
export function span(node: ESTree.Node, root: ESTree.Node): { start: number; end: number } {
  const offset = (root as unknown as { pikalaOffset?: number }).pikalaOffset ?? 0;
  const n = node as unknown as { start: number; end: number };
  return { start: n.start - offset, end: n.end - offset };
}

/**
 * The properties a function reads or writes on a free name (`exports.k`), or null when it uses the name
 * in any other way (passes it around, computed access): then all of it is needed.
 */
export function memberAccesses(a: SourceAnalysis, name: string): string[] | null {
  const out = new Set<string>();
  let other = false;
  const stack: ESTree.Node[] = [a.ast];
  while (stack.length !== 0 && !other) {
    const n = stack.pop()!;
    if (n.type === 'MemberExpression' && n.object.type === 'Identifier' && n.object.name === name) {
      if (n.computed || n.property.type !== 'Identifier') { other = true; break; }
      out.add(n.property.name);
      continue;
    }
    if (n.type === 'Identifier' && n.name === name) { other = true; break; }
    for (const key of Object.keys(n)) {
      if (key === 'parent' || key === 'range' || key === 'loc') continue;
      const v = (n as unknown as Record<string, unknown>)[key];
      if (Array.isArray(v)) {
        for (const c of v) if (c && typeof c === 'object' && typeof (c as ESTree.Node).type === 'string') stack.push(c as ESTree.Node);
      } else if (v && typeof v === 'object' && typeof (v as ESTree.Node).type === 'string') {
        // Property keys and member names are not references.
        if ((n.type === 'MemberExpression' && key === 'property' && !n.computed) ||
          (n.type === 'Property' && key === 'key' && !n.computed)) continue;
        stack.push(v as ESTree.Node);
      }
    }
  }
  return other ? null : [...out];
}
