/**
 * Plans classes by value and their instances (see codecs/classes.ts for the records): the rewritten text,
 * the environment it closes over, the values of its computed keys, which members its definition recreates
 * (so only later changes travel), and for instances the private field values attributed to their classes.
 */
import { acorn } from './parsers.js';
import type * as ESTree from 'estree';
import type { Pickler } from '../pickler/pickler.js';
import type { ObjectCodec } from '../codecs/codec.js';
import type { ClassPlan, InstancePlan } from '../codecs/classes.js';
import {
  FunctionPrototype, FunctionPrototypeToString, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf,
  ReflectOwnKeys,
  functionName, isProxy,
} from '../util/primordials.js';
import { analyzeSource } from './analyze.js';
import { rewriteClass, type ClassElementInfo, type RewrittenClass } from './class-rewrite.js';
import { classIdOf } from './class-registry.js';
import { capturePrivates, type FunctionCapture } from './inspector.js';
import { builtinPath } from './registry.js';
import { WELL_KNOWN_SYMBOLS } from '../codecs/symbols.js';

const CLASS_TEXT = /^class[\s{]/;

/** True when `fn` is a class whose text pikala can rebuild (not a built-in). */
export function isSourceClass(fn: unknown): fn is Function {
  if (typeof fn !== 'function') return false;
  let text: string;
  try { text = FunctionPrototypeToString(fn); } catch { return false; }
  return CLASS_TEXT.test(text);
}

/** The class whose `prototype` is `o`, when `o` is a by-value class's prototype. */
export function classOfPrototype(o: object): Function | undefined {
  const d = ObjectGetOwnPropertyDescriptor(o, 'constructor');
  if (d === undefined || !isSourceClass(d.value)) return undefined;
  const pd = ObjectGetOwnPropertyDescriptor(d.value, 'prototype');
  return pd !== undefined && pd.value === o ? d.value as Function : undefined;
}

/** By-value classes from `cls` up its heritage, most derived first. */
function sourceChain(cls: Function): Function[] {
  const chain: Function[] = [];
  for (let k: unknown = cls; isSourceClass(k) && builtinPath(k as Function) === undefined; k = ObjectGetPrototypeOf(k)) {
    chain.push(k as Function);
  }
  return chain;
}

/** Whether the classes declare instance private methods, and no instance private field or accessor. */
function onlyPrivateMethods(chain: Function[]): boolean {
  const kinds = chain.flatMap((k) => rewriteClass(FunctionPrototypeToString(k)).elements)
    .filter((e) => e.isPrivate && !e.isStatic).map((e) => e.kind);
  return kinds.length !== 0 && kinds.every((k) => k === 'method');
}

export function hasPrivateNames(cls: Function): boolean {
  return sourceChain(cls).some((k) => rewriteClass(FunctionPrototypeToString(k)).hasPrivateNames);
}

export interface ClassFacts {
  rewrite: RewrittenClass;
  freeNames: string[];
  parent: object | null | undefined;
  plan: Omit<ClassPlan, 'maker' | 'env'>;
}

/**
 * What a derived class extends: its [[Prototype]] (`extends null` leaves Function.prototype there). When a
 * program set that [[Prototype]] to a plain object after definition (static lookups and `super` in static
 * methods go there), the heritage is the constructor of the prototype's parent; the class record then carries
 * the plain object as the class's prototype, set after the class is made.
 */
function heritageOf(p: Pickler, cls: Function): object | null {
  const staticProto = ObjectGetPrototypeOf(cls) as object | null;
  if (staticProto === FunctionPrototype) return null;
  if (typeof staticProto === 'function') return staticProto;
  const protoParent = ObjectGetPrototypeOf(ObjectGetOwnPropertyDescriptor(cls, 'prototype')!.value as object) as object | null;
  if (protoParent === null) return null;
  const d = ObjectGetOwnPropertyDescriptor(protoParent, 'constructor');
  if (d !== undefined && typeof d.value === 'function' && !isProxy(d.value) &&
    ObjectGetOwnPropertyDescriptor(d.value as object, 'prototype')?.value === protoParent) {
    return d.value as object;
  }
  p.fail('PIKALA_UNSUPPORTED', `class ${functionName(cls) || '(anonymous)'} extends something that is neither its ` +
    '[[Prototype]] nor the constructor of its prototype\'s parent; pikala cannot tell what to extend on load');
}

/** Everything about a class except where it lives (environment, maker), which the function planner adds. */
export function classFacts(p: Pickler, cls: Function, text: string, capture: FunctionCapture): ClassFacts {
  let rw: RewrittenClass;
  try {
    rw = rewriteClass(text);
  } catch (e) {
    p.fail('PIKALA_UNSUPPORTED', `cannot rebuild class ${functionName(cls) || '(anonymous)'}: ${(e as Error).message}`);
  }
  const analysis = analyzeSource(rw.text);
  const freeNames = analysis.free.filter((n) => !n.startsWith(rw.prefix));
  const parent = rw.derived ? heritageOf(p, cls) : undefined;
  const keys = computedKeys(p, cls, rw, capture, text);
  const staticPrivates: [string, unknown][] = [];
  if (rw.staticPrivateFields.length !== 0) {
    for (const e of capture.privates ?? []) {
      if ('value' in e && rw.staticPrivateFields.includes(e.name)) staticPrivates.push([e.name, e.value]);
    }
  }
  const keyOf = new Map<ClassElementInfo, PropertyKey>();
  rw.computed.forEach((e, i) => keyOf.set(e, keys[i]!));
  const proto = ObjectGetOwnPropertyDescriptor(cls, 'prototype')!.value as object;
  const statics = members(cls, rw, true, keyOf, text);
  // Static fields the definition creates (as undefined, under the restore guard) but that are gone now.
  for (const e of rw.elements) {
    if (e.kind !== 'field' || !e.isStatic || e.isPrivate) continue;
    const key = e.computed ? keyOf.get(e) : e.name;
    if (key !== undefined && key !== null && ObjectGetOwnPropertyDescriptor(cls, key) === undefined && !statics.removed.includes(key)) {
      statics.removed.push(key);
    }
  }
  const protos = members(proto, rw, false, keyOf, text);
  const ctor = ObjectGetOwnPropertyDescriptor(proto, 'constructor');
  if (ctor && ctor.value === cls && ctor.writable && !ctor.enumerable && ctor.configurable) protos.original.add('constructor');
  else if (!ctor) protos.removed.push('constructor');
  return {
    rewrite: rw, freeNames, parent,
    plan: {
      id: classIdOf(cls, text, scopeValues(capture)), parent, keys, rewrite: rw, privateNames: hasPrivateNames(cls), staticPrivates,
      staticOriginal: statics.original, staticRemoved: statics.removed,
      protoOriginal: protos.original, protoRemoved: protos.removed,
    },
  };
}

/**
 * Which own members of `target` (the class or its prototype) are exactly what the class definition makes
 * (same function text, default attributes) — those are not shipped — and which it makes but are gone.
 */
function members(target: object, rw: RewrittenClass, isStatic: boolean, keyOf: Map<ClassElementInfo, PropertyKey>,
  text: string): { original: Set<PropertyKey>; removed: PropertyKey[] } {
  const original = new Set<PropertyKey>();
  const removed: PropertyKey[] = [];
  const byKey = new Map<PropertyKey, ClassElementInfo[]>();
  for (const e of rw.elements) {
    if (e.isStatic !== isStatic || e.isPrivate || (e.kind !== 'method' && e.kind !== 'get' && e.kind !== 'set')) continue;
    const key = e.computed ? keyOf.get(e) : e.name;
    if (key === undefined || key === null) continue;
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, list = []);
    list.push(e);
  }
  const fromText = (fn: unknown, e: ClassElementInfo | undefined) =>
    typeof fn === 'function' && e !== undefined && FunctionPrototypeToString(fn).endsWith(text.slice(e.valueStart, e.valueEnd));
  for (const [key, els] of byKey) {
    const d = ObjectGetOwnPropertyDescriptor(target, key);
    if (d === undefined) { removed.push(key); continue; }
    if (d.enumerable || !d.configurable) continue;
    const last = (kind: string) => [...els].reverse().find((e) => e.kind === kind);
    if ('value' in d) {
      if (d.writable && fromText(d.value, last('method'))) original.add(key);
    } else {
      const g = last('get'), s = last('set');
      if ((g ? fromText(d.get, g) : d.get === undefined) && (s ? fromText(d.set, s) : d.set === undefined)) original.add(key);
    }
  }
  return { original, removed };
}

/**
 * The values the class's computed keys had when it was defined, in source order. A computed method or
 * accessor is found on the class (or its prototype) by its function text; a field key is evaluated from its
 * expression when that is a plain name, a literal or a well-known symbol (nothing that can run code).
 */
function computedKeys(p: Pickler, cls: Function, rw: RewrittenClass, capture: FunctionCapture, text: string): (string | symbol)[] {
  if (rw.computed.length === 0) return [];
  const proto = ObjectGetOwnPropertyDescriptor(cls, 'prototype')!.value as object;
  const taken = new Set<string>();
  const find = (e: ClassElementInfo): string | symbol | undefined => {
    const target = e.isStatic ? cls : proto;
    const valueText = text.slice(e.valueStart, e.valueEnd);
    for (const k of ReflectOwnKeys(target)) {
      const d = ObjectGetOwnPropertyDescriptor(target, k)!;
      const fn = e.kind === 'get' ? d.get : e.kind === 'set' ? d.set : d.value;
      if (typeof fn !== 'function') continue;
      const id = `${e.isStatic ? 's' : 'p'}:${e.kind}:${String(k)}`;
      if (taken.has(id)) continue;
      if (FunctionPrototypeToString(fn).endsWith(valueText)) { taken.add(id); return k; }
    }
    return undefined;
  };
  const keys: (string | symbol)[] = [];
  for (const e of rw.computed) {
    let k = e.kind === 'method' || e.kind === 'get' || e.kind === 'set' ? find(e) : undefined;
    if (k === undefined) k = evaluateKey(e.keyText!, capture);
    if (k === undefined) {
      p.fail('PIKALA_UNSUPPORTED', `cannot tell the value of the computed key [${e.keyText}] of class ` +
        `${functionName(cls) || '(anonymous)'} without running it again; use a name, a literal or a well-known symbol`);
    }
    keys.push(k);
  }
  return keys;
}

/** The values of a class's scopes (innermost first), for its id. */
function scopeValues(capture: FunctionCapture): unknown[] {
  const out: unknown[] = [];
  for (const s of capture.scopes) if (s.vars !== null) for (const k of Object.keys(s.vars)) out.push(k, s.vars[k]);
  return out;
}

/** Evaluates a key expression that cannot run code: a literal, a captured name, a well-known symbol. */
function evaluateKey(src: string, capture: FunctionCapture): string | symbol | undefined {
  let node: ESTree.Expression;
  try { node = acorn.parseExpressionAt(src, 0, { ecmaVersion: 'latest' }) as unknown as ESTree.Expression; } catch { return undefined; }
  const toKey = (v: unknown) => (typeof v === 'symbol' ? v : typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : undefined);
  switch (node.type) {
    case 'Literal': return toKey(node.value);
    case 'TemplateLiteral': return node.expressions.length === 0 ? node.quasis[0]!.value.cooked ?? undefined : undefined;
    case 'Identifier': {
      for (const s of capture.scopes) {
        if (s.vars !== null && Object.prototype.hasOwnProperty.call(s.vars, node.name)) return toKey(s.vars[node.name]);
      }
      const d = ObjectGetOwnPropertyDescriptor(globalThis, node.name);
      return d && 'value' in d ? toKey(d.value) : undefined;
    }
    case 'MemberExpression':
      if (!node.computed && node.object.type === 'Identifier' && node.object.name === 'Symbol' && node.property.type === 'Identifier') {
        return WELL_KNOWN_SYMBOLS.get(node.property.name);
      }
      return undefined;
    default:
      return undefined;
  }
}

/**
 * How an instance of a by-value class is written: through the Instance record when its class chain has
 * private names (only the class's own constructor can give an object those), else with its brand's codec
 * (ordinary object, Map, Error...) and the class's prototype as its prototype.
 */
export function planInstance(p: Pickler, o: object, cls: Function, brand: ObjectCodec<object>,
  instanceCodec: ObjectCodec<object>, plans: Map<object, InstancePlan>): ObjectCodec<object> {
  if (!hasPrivateNames(cls)) return brand;
  const chain = sourceChain(cls).reverse(); // base first, like V8's private field order
  let listed;
  try {
    listed = capturePrivates(o);
  } catch (e) {
    p.fail('PIKALA_CAPTURE', (e as Error).message);
  }
  const entries = listed.filter((e) => 'value' in e);
  // An object made another way (Object.create(C.prototype)) has none of the class's private names: it is
  // what it is, an ordinary object of that prototype. The inspector lists an instance's private fields and
  // accessors but never its private methods, so an instance of classes whose only instance private names
  // are methods cannot be told from such an object: it is taken as made by its constructor (the common
  // case), and keeps the brand its methods check.
  if (listed.length === 0 && !onlyPrivateMethods(chain)) return brand;
  if (brand.name === 'ArrayBuffer' || brand.name === 'SharedArrayBuffer') {
    p.fail('PIKALA_UNSUPPORTED', `an instance of ${functionName(cls) || 'a class'} with #private fields that extends ` +
      `${brand.name} cannot travel: its bytes would belong to a buffer made apart from the instance`);
  }
  const privates: InstancePlan['privates'] = [];
  const expected = chain.reduce((n, k) => n + rewriteClass(FunctionPrototypeToString(k)).privateFields.length, 0);
  // Fields of by-reference ancestors come first; they are set by those ancestors' own constructors.
  let at = Math.max(0, entries.length - expected);
  for (const k of chain) {
    for (const name of rewriteClass(FunctionPrototypeToString(k)).privateFields) {
      const e = entries[at++];
      if (e === undefined || e.name !== name) {
        p.fail('PIKALA_UNSUPPORTED', `cannot match the private fields of an instance of ${functionName(cls) || 'a class'} to its classes`);
      }
      privates.push({ owner: k, name, value: e.value });
    }
  }
  plans.set(o, { cls, brand, privates });
  return instanceCodec;
}
