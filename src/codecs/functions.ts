/**
 * Functions by value, their scope environments, and bound functions.
 *
 *   Function record  create: maker id, environment, [home prototype, key | this | arguments]
 *                    fill:   own properties (name, length, prototype, extras), integrity
 *   Scope record     create: layout slot, parent environment
 *                    fill:   (variable name, value) pairs; may come more than once (see closures.ts)
 *   Bound record     create: target, bound this, bound arguments; fill: own properties
 *
 * What a function is made from (its maker, i.e. its source text in generated code) travels in the payload's
 * code prologue (code/rebuild.ts), so every environment's code is complete before the first function is made.
 */
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import {
  FunctionPrototype, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, ObjectHasOwn, ObjectSetPrototypeOf,
  ReflectApply, ReflectConstruct,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import type { Env, Maker } from '../code/closures.js';
import { codeOf, type LoadedCode } from '../code/rebuild.js';

/** What the planner (code/functions.ts) decided for one function. */
export interface FunctionPlan {
  maker: Maker;
  env: Env | null;
  /** The prototype the rebuilt method's home object gets (methods and arrows using super). */
  homeProto: object | null;
  key: string | symbol | undefined;
  thisValue: unknown;
  /** The new.target an arrow captured (mode newTarget). */
  newTarget?: Function;
  args: unknown[] | null;
  /** The prototype a freshly made function of this kind has. */
  defaultProto: object;
}

export interface BoundPlan {
  target: Function;
  thisArg: unknown;
  args: unknown[];
}

export interface PlanSource {
  planOf(fn: Function): FunctionPlan;
  boundOf(fn: Function): BoundPlan;
}

const SKIP_FUNCTION_KEYS = (k: PropertyKey) => k === 'arguments' || k === 'caller';

const enum ModeByte { Plain, This, Method, Get, Set, SuperArrow, Class, NewTarget }
const MODE_BYTES: Record<string, ModeByte> = {
  plain: ModeByte.Plain, this: ModeByte.This, method: ModeByte.Method, get: ModeByte.Get, set: ModeByte.Set,
  superArrow: ModeByte.SuperArrow, class: ModeByte.Class, newTarget: ModeByte.NewTarget,
};
export function modeByte(mode: string): number {
  return MODE_BYTES[mode]!;
}

function isObjectLike(v: unknown): v is object {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/**
 * The [[Prototype]] of the home object of each arrow using super that a payload rebuilt, for dumping it again.
 * Shared by the ES module and CommonJS builds of pikala in one process.
 */
const SUPER_HOMES_KEY = Symbol.for('pikala.superArrowHomes.v1');
export const superArrowHomes: WeakMap<Function, object | null> =
  ((globalThis as Record<symbol, WeakMap<Function, object | null> | undefined>)[SUPER_HOMES_KEY] ??= new WeakMap());

export function functionCodec(plans: PlanSource): ObjectCodec<Function> {
  return {
    kind: Kind.Function,
    name: 'function',
    code: true,
    defaultProto: (fn) => (fn === null ? FunctionPrototype : plans.planOf(fn).defaultProto),
    deps(fn) {
      const plan = plans.planOf(fn);
      const deps: object[] = [];
      if (plan.env !== null) deps.push(plan.env);
      if (plan.homeProto !== null) deps.push(plan.homeProto);
      if (isObjectLike(plan.thisValue)) deps.push(plan.thisValue);
      if (plan.args) for (const a of plan.args) if (isObjectLike(a)) deps.push(a);
      if (plan.newTarget) deps.push(plan.newTarget);
      return deps;
    },
    writeCreate(p: Pickler, fn: Function) {
      const w = p.w;
      const plan = plans.planOf(fn);
      w.varint(plan.maker.id);
      if (plan.env === null) w.u8(0);
      else { w.u8(1); p.writeDepRef(plan.env); }
      switch (plan.maker.mode) {
        case 'method': case 'get': case 'set':
          writeOptionalRef(p, plan.homeProto);
          p.visit(plan.key);
          break;
        case 'superArrow':
          writeOptionalRef(p, plan.homeProto);
          p.visit(plan.thisValue);
          break;
        case 'this':
          p.visit(plan.thisValue);
          break;
        case 'newTarget':
          p.visit(plan.thisValue);
          p.writeDepRef(plan.newTarget!);
          break;
      }
      if (plan.maker.passArguments) {
        w.varint(plan.args!.length);
        for (const a of plan.args!) p.visit(a);
      }
    },
    writeFill(p: Pickler, fn: Function) {
      writeFunctionFill(p, fn, SKIP_FUNCTION_KEYS);
    },
    create(u: Unpickler, proto) {
      const code = codeOf(u);
      const r = u.r;
      const makerId = r.varint();
      const maker = code.makers[makerId];
      if (maker === undefined) throw corrupt(`unknown maker ${makerId}`);
      let env: { f: Record<string, Function> } | null = null;
      const hasEnv = r.u8();
      if (hasEnv > 1) throw corrupt('bad environment flag');
      if (hasEnv) env = u.readObjectRef() as { f: Record<string, Function> };
      const makers = env !== null ? envMakers(env) : code.looseMakers(maker.unit);
      const make = makers[maker.key];
      if (typeof make !== 'function') throw corrupt(`maker ${maker.key} is not in its environment`);
      let fn: Function;
      switch (maker.mode) {
        case ModeByte.Plain:
          fn = make() as Function;
          break;
        case ModeByte.This: {
          const thisValue = u.readOne();
          fn = (maker.passArguments ? ReflectApply(make, thisValue, readArgs(u)) : ReflectApply(make, thisValue, [])) as Function;
          break;
        }
        case ModeByte.NewTarget: {
          const thisValue = u.readOne();
          const newTarget = u.readObjectRef();
          if (typeof newTarget !== 'function') throw corrupt('new.target is not a constructor');
          const base = function () { return isObjectLike(thisValue) ? thisValue : {}; };
          // The maker's constructor is the arrow's enclosing function: its arguments are the arrow's.
          fn = ReflectConstruct(make(base) as Function, maker.passArguments ? readArgs(u) : [], newTarget) as Function;
          break;
        }
        case ModeByte.SuperArrow: {
          const home = readOptionalRef(u);
          const thisValue = u.readOne();
          const m = make(home) as Function;
          fn = (maker.passArguments ? ReflectApply(m, thisValue, readArgs(u)) : ReflectApply(m, thisValue, [])) as Function;
          // Its text now sits in generated code, where the class that homes it cannot be found again.
          superArrowHomes.set(fn, home);
          break;
        }
        default: {
          const home = readOptionalRef(u);
          const key = u.readOne();
          if (typeof key !== 'string' && typeof key !== 'symbol') throw corrupt('method key is not a string or symbol');
          const holder = make(home, key) as object;
          const d = ObjectGetOwnPropertyDescriptor(holder, key)!;
          fn = (maker.mode === ModeByte.Method ? d.value : maker.mode === ModeByte.Get ? d.get : d.set) as Function;
        }
      }
      if (typeof fn !== 'function') throw corrupt('a maker did not produce a function');
      if (proto !== undefined && ObjectGetPrototypeOf(fn) !== proto) ObjectSetPrototypeOf(fn, proto);
      return fn;
    },
    readFill(u, o) { readFunctionFill(u, o); },
  };
}

/**
 * A function's fill: integrity, the keys a fresh function has that this one lost (`delete f.name`), then
 * its own properties (name, length, prototype, and what the program added).
 */
export function writeFunctionFill(p: Pickler, fn: Function, skip: ((k: PropertyKey) => boolean) | null): void {
  p.w.u8(integrityOf(fn));
  const removed = ['name', 'length', 'prototype'].filter((k) => !ObjectHasOwn(fn, k));
  p.w.varint(removed.length);
  for (const k of removed) p.writeString(k);
  const values: unknown[] = [];
  const keys: PropertyKey[] = [];
  p.writeProps(fn, values, skip, keys);
  p.pushList(values, new FillLabels(0, () => '', keys, fn));
}

export function readFunctionFill(u: Unpickler, fn: object): void {
  const s = new FillState(fn);
  s.integrity = u.readIntegrity();
  const n = u.r.count(1);
  if (n > 3) throw corrupt('too many removed function properties');
  const removed: string[] = [];
  for (let i = 0; i < n; i++) removed.push(u.readString());
  s.remove = removed.length !== 0 ? removed : null;
  u.readPropsAndPush(s);
}

function envMakers(env: { f: Record<string, Function> }): Record<string, Function> {
  if (env === null || typeof env !== 'object' || typeof env.f !== 'object' || env.f === null) throw corrupt('not an environment');
  return env.f;
}

function readArgs(u: Unpickler): unknown[] {
  const n = u.r.count(1);
  const args: unknown[] = [];
  for (let i = 0; i < n; i++) args.push(u.readOne());
  return args;
}

function writeOptionalRef(p: Pickler, o: object | null): void {
  if (o === null) { p.w.u8(0); return; }
  p.w.u8(1);
  p.writeDepRef(o);
}

function readOptionalRef(u: Unpickler): object | null {
  const flag = u.r.u8();
  if (flag > 1) throw corrupt('bad reference flag');
  return flag ? u.readObjectRef() : null;
}

/** Scope environments. Their fill may come several times: variables found later are filled later. */
export const ScopeCodec: ObjectCodec<Env> = {
  kind: Kind.Scope,
  name: 'scope',
  code: true,
  multiFill: true,
  pathOf: (env) => env.origin,
  defaultProto: (env) => (env === null ? null : ObjectGetPrototypeOf(env)),
  deps: (env) => (env.parent !== null ? [env.parent] : []),
  writeCreate(p: Pickler, env: Env) {
    p.w.varint(env.layout.id);
    if (env.parent === null) p.w.u8(0);
    else { p.w.u8(1); p.writeDepRef(env.parent); }
  },
  writeFill(p: Pickler, env: Env) {
    const names: string[] = [];
    const values: unknown[] = [];
    for (const [name, value] of env.needed) {
      if (env.filled.has(name)) continue;
      env.filled.add(name);
      names.push(name);
      values.push(value);
    }
    env.fillQueued = false;
    p.w.varint(names.length);
    for (const n of names) p.writeString(n);
    p.pushList(values, { segment: (i) => `.<closure>.${names[i]}` });
  },
  create(u: Unpickler) {
    const code = codeOf(u);
    const slot = code.slots.get(u.r.varint());
    if (slot === undefined) throw corrupt('unknown layout');
    const hasParent = u.r.u8();
    if (hasParent > 1) throw corrupt('bad parent flag');
    if (hasParent) {
      const parent = u.readObjectRef() as { c?: Record<string, Function> };
      const factory = parent.c?.[slot[1]];
      if (typeof factory !== 'function') throw corrupt('layout is not a child of its parent environment');
      return factory() as object;
    }
    return code.rootFactory(slot[0])() as object;
  },
  readFill(u: Unpickler, env: object) {
    const n = u.r.count(2);
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(u.readString());
    const setter = (env as { s?: (name: string, v: unknown) => void }).s;
    if (n !== 0 && typeof setter !== 'function') throw corrupt('environment has no variables');
    const s = new FillState(env);
    s.content = Content.ScopeVars;
    s.names = names;
    s.nContents = n;
    s.setter = setter ?? null;
    u.pushFill(s);
  },
};

/** Bound functions: target, bound this and arguments are needed to create one; properties come after. */
export function boundCodec(plans: PlanSource): ObjectCodec<Function> {
  return {
    kind: Kind.Bound,
    name: 'bound function',
    code: true,
    defaultProto: () => FunctionPrototype,
    deps(fn) {
      const b = plans.boundOf(fn);
      const deps: object[] = [b.target];
      if (isObjectLike(b.thisArg)) deps.push(b.thisArg);
      for (const a of b.args) if (isObjectLike(a)) deps.push(a);
      return deps;
    },
    writeCreate(p: Pickler, fn: Function) {
      const b = plans.boundOf(fn);
      p.writeDepRef(b.target);
      p.visit(b.thisArg);
      p.w.varint(b.args.length);
      for (const a of b.args) p.visit(a);
    },
    writeFill(p: Pickler, fn: Function) {
      writeFunctionFill(p, fn, null);
    },
    create(u: Unpickler, proto) {
      const target = u.readObjectRef();
      if (typeof target !== 'function') throw corrupt('bound target is not a function');
      const thisArg = u.readOne();
      const args = readArgs(u);
      const fn = ReflectApply(FunctionPrototype.bind, target, [thisArg, ...args]) as Function;
      if (proto !== undefined && ObjectGetPrototypeOf(fn) !== proto) ObjectSetPrototypeOf(fn, proto);
      return fn;
    },
    readFill(u, o) { readFunctionFill(u, o); },
  };
}

export type { LoadedCode };
