/**
 * The class text rewrite that lets a class be rebuilt by value and its instances restored without running
 * constructors, field initializers, static initializers, static blocks or computed-key expressions:
 *
 *   class X extends <heritage> { ... }    heritage → P.S (the parent, passed in)
 *   constructor(...) { body }             → derived: constructor(...) { if (P.R.on) { super(...P.R.a); return; } body }
 *                                           base:    constructor(...) { if (P.R.on) return; body }
 *   (no constructor, derived)             → constructor(...P_a) { if (P.R.on) { super(...P.R.a); return; } super(...P_a); }
 *   field = init  /  static field = init  → field = P.R.on ? undefined : (init)   (function initializers as they are)
 *   static { body }                       → static { if (!P.R.on) { body } }
 *   [computed key]                        → [P.K[i]]  (the key values the class was created with)
 *   + static [P.R.sp](o, n, v) { switch (n) { case '#x': o.#x = v; return; } }   (instance private fields)
 *   + static [P.R.ss](n, v) { switch (n) { case '#c': this.#c = v; return; } }   (static private fields)
 *
 * P is an identifier prefix that the class text does not use. The loader evaluates the rewritten class
 * with P.R.on set (so static initializers and blocks do nothing), takes the two setters off the class, and
 * later constructs instances with P.R.on set (constructor bodies return at once; a built-in base gets what
 * it needs to exist in P.R.a, a Date's time or a view's buffer; base classes shipped by reference run their
 * own constructor with those arguments, usually none).
 */
import { acorn } from './parsers.js';
import type * as ESTree from 'estree';

export interface ClassElementInfo {
  /** 'method' | 'get' | 'set' | 'field' | 'constructor' | 'static-block' */
  kind: string;
  isStatic: boolean;
  computed: boolean;
  isPrivate: boolean;
  /** Non-computed key name ('#x' for private), or null. */
  name: string | null;
  /** Range of the element's function text (methods/accessors) in the original class text. */
  valueStart: number;
  valueEnd: number;
  /** The key expression's text, for computed keys. */
  keyText: string | null;
}

export interface RewrittenClass {
  text: string;
  prefix: string;
  derived: boolean;
  /** Instance private fields, in declaration order ('#x'). */
  privateFields: string[];
  staticPrivateFields: string[];
  /** Elements with computed keys, in source order (their values are passed as P.K[i]). */
  computed: ClassElementInfo[];
  elements: ClassElementInfo[];
  /** Whether the class declares any private name (fields, methods, accessors): instances need its brand. */
  hasPrivateNames: boolean;
}

interface Edit { start: number; end: number; text: string }

/** Keys of the setters an earlier rewrite injected: `[$pkR.sp]`, `[$pk$R.ss]`, member makers `[$pkR.mk]`. */
const INJECTED_KEY = /^\$pk\$*R\.(?:sp|ss|mk)$/;

const cache = new Map<string, RewrittenClass>();

/** Rewrites a class's text (as returned by toString). Throws on text that is not a class. */
export function rewriteClass(text: string): RewrittenClass {
  const hit = cache.get(text);
  if (hit) return hit;
  const node = acorn.parseExpressionAt(text, 0, { ecmaVersion: 'latest' }) as unknown as ESTree.ClassExpression & { start: number; end: number };
  if (node.type !== 'ClassExpression') throw new Error('not a class');
  let prefix = '$pk';
  while (new RegExp(`\\${prefix}[A-Za-z]`).test(text)) prefix += '$';
  const P = prefix;
  const edits: Edit[] = [];
  const pos = (n: unknown) => n as { start: number; end: number };
  const derived = node.superClass !== null && node.superClass !== undefined;
  if (derived) edits.push({ start: pos(node.superClass).start, end: pos(node.superClass).end, text: `${P}S` });

  const privateFields: string[] = [];
  const staticPrivateFields: string[] = [];
  const computed: ClassElementInfo[] = [];
  const elements: ClassElementInfo[] = [];
  let hasCtor = false;
  let hasPrivateNames = false;
  for (const el of node.body.body) {
    if (el.type === 'StaticBlock') {
      const body = el as unknown as { start: number; end: number };
      // `static {` ... `}`: wrap the block's statements.
      const open = text.indexOf('{', body.start + 'static'.length);
      edits.push({ start: open + 1, end: open + 1, text: ` if (!${P}R.on) {` });
      edits.push({ start: body.end - 1, end: body.end - 1, text: '} ' });
      elements.push({ kind: 'static-block', isStatic: true, computed: false, isPrivate: false, name: null, valueStart: body.start, valueEnd: body.end, keyText: null });
      continue;
    }
    const member = el as ESTree.MethodDefinition | ESTree.PropertyDefinition;
    const key = member.key;
    // A class pikala rebuilt before carries the setters it injected (deleted from the class since): they
    // are injected again below, so drop them from the text.
    if (member.computed && member.static && INJECTED_KEY.test(text.slice(pos(key).start, pos(key).end))) {
      edits.push({ start: pos(member).start, end: pos(member).end, text: '' });
      continue;
    }
    const isPrivate = key.type === 'PrivateIdentifier';
    if (isPrivate) hasPrivateNames = true;
    const name = isPrivate ? '#' + (key as ESTree.PrivateIdentifier).name
      : !member.computed && key.type === 'Identifier' ? key.name
      : !member.computed && key.type === 'Literal' ? String(key.value) : null;
    const kind = member.type === 'PropertyDefinition' ? 'field' : member.kind === 'constructor' ? 'constructor' : member.kind;
    const info: ClassElementInfo = {
      kind, isStatic: !!member.static, computed: !!member.computed, isPrivate, name,
      valueStart: member.value ? pos(member.value).start : pos(member).start,
      valueEnd: member.value ? pos(member.value).end : pos(member).end,
      keyText: member.computed ? text.slice(pos(key).start, pos(key).end) : null,
    };
    elements.push(info);
    if (member.computed) {
      // The brackets around the key expression.
      const open = text.lastIndexOf('[', pos(key).start);
      const close = text.indexOf(']', pos(key).end);
      edits.push({ start: open + 1, end: close, text: `${P}K[${computed.length}]` });
      computed.push(info);
    }
    if (member.type === 'PropertyDefinition') {
      if (isPrivate) (member.static ? staticPrivateFields : privateFields).push(name!);
      const value = member.value;
      if (value && value.type !== 'ArrowFunctionExpression' && value.type !== 'FunctionExpression') {
        // A function initializer stays as it is: making a closure runs nothing, and only an initializer that
        // is an anonymous function definition gets the field's name. An anonymous class (whose static parts
        // do run) is named through an object literal with the same key instead.
        const named = value.type === 'ClassExpression' && !value.id;
        const keyExpr = member.computed ? `${P}K[${computed.length - 1}]` : JSON.stringify(name);
        edits.push({ start: pos(value).start, end: pos(value).start,
          text: named ? `${P}R.on ? undefined : ({ [${keyExpr}]: (` : `${P}R.on ? undefined : (` });
        edits.push({ start: pos(value).end, end: pos(value).end, text: named ? `) })[${keyExpr}]` : `)` });
      }
      continue;
    }
    if (member.kind === 'constructor') {
      hasCtor = true;
      const fn = member.value as ESTree.FunctionExpression;
      const body = fn.body as unknown as { start: number; end: number };
      const guard = derived ? ` if (${P}R.on) { super(...${P}R.a); return; }` : ` if (${P}R.on) return;`;
      if (fn.params.every((x) => x.type === 'Identifier')) {
        edits.push({ start: body.start + 1, end: body.start + 1, text: guard });
      } else {
        // Default values and destructuring run before any statement of the body: move the parameters into
        // an arrow (same this, super, new.target and arguments) that runs only when the guard is off.
        const open = text.indexOf('(', pos(key).end);
        const close = text.lastIndexOf(')', body.start);
        const params = text.slice(open + 1, close);
        edits.push({ start: open + 1, end: close, text: `...${P}a` });
        edits.push({ start: body.start + 1, end: body.start + 1, text: `${guard} return ((${params}) => {` });
        edits.push({ start: body.end - 1, end: body.end - 1, text: `})(...${P}a); ` });
      }
    }
  }
  const bodyNode = node.body as unknown as { start: number; end: number };
  let injected = '';
  if (!hasCtor && derived) {
    injected += ` constructor(...${P}a) { if (${P}R.on) { super(...${P}R.a); return; } super(...${P}a); }`;
  }
  if (privateFields.length) {
    injected += ` static [${P}R.sp](${P}o, ${P}n, ${P}v) { switch (${P}n) {` +
      privateFields.map((f) => ` case '${f}': ${P}o.${f} = ${P}v; return;`).join('') + ' } }';
  }
  if (staticPrivateFields.length) {
    injected += ` static [${P}R.ss](${P}n, ${P}v) { switch (${P}n) {` +
      staticPrivateFields.map((f) => ` case '${f}': this.${f} = ${P}v; return;`).join('') + ' } }';
  }
  if (injected) edits.push({ start: bodyNode.end - 1, end: bodyNode.end - 1, text: injected + ' ' });

  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  out += text.slice(at);
  const result: RewrittenClass = { text: out, prefix: P, derived, privateFields, staticPrivateFields, computed, elements, hasPrivateNames };
  cache.set(text, result);
  return result;
}
