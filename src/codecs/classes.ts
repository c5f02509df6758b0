/**
 * Classes by value, their prototypes, and instances that carry #private state.
 *
 *   Class record      create: maker, environment, class id, heritage, computed key values, private flag
 *                     fill:   static private field values; static properties (static fields, changed or
 *                             added static methods, name, length); removed static members
 *   Prototype record  create: the class → its prototype (made by the class, never by value)
 *                     fill:   methods added or replaced after class creation; removed members
 *   Instance record   create: the class (constructed with its restore guard on: no constructor body,
 *                             no field initializer runs), the native brand (ordinary, Map, Error, ...)
 *                     fill:   private field values, then the brand's own fill (properties, entries, ...)
 *
 * Instances of classes without private names need no Instance record: they are ordinary objects (or Maps,
 * Errors, ...) whose prototype is the class's prototype. See code/class-rewrite.ts for the guard and
 * code/class-registry.ts for identity across payloads.
 */
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import {
  DataViewPrototypeGetBuffer, DataViewPrototypeGetByteLength, DataViewPrototypeGetByteOffset, FunctionPrototype,
  ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, ObjectSetPrototypeOf, ReflectConstruct, ReflectDeleteProperty, ReflectOwnKeys,
  RegExpPrototypeGetFlags, RegExpPrototypeGetSource, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteOffset,
  TypedArrayPrototypeGetLength, functionName,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import type { Env, Maker } from '../code/closures.js';
import type { RewrittenClass } from '../code/class-rewrite.js';
import { codeOf } from '../code/rebuild.js';
import { knownClass, registerLoadedClass, twinClass } from '../code/class-registry.js';
import { CODECS } from './dispatch.js';
import { readFunctionFill, writeFunctionFill } from './functions.js';

/** The object pikala's rewritten classes consult: `on` while restoring; the setter method keys. */
export interface RestoreController {
  on: boolean; sp: symbol; ss: symbol; mk: symbol;
  /** Arguments for a built-in base constructor while restoring an instance. */
  a: unknown[];
}
const RESTORE_KEY = Symbol.for('pikala.restore.v1');
export const RESTORE: RestoreController = ((globalThis as Record<symbol, RestoreController | undefined>)[RESTORE_KEY] ??=
  { on: false, sp: Symbol('pikala.setPrivate'), ss: Symbol('pikala.setStaticPrivate'), mk: Symbol('pikala.makeMember'), a: [] });
// A controller made by an older copy of pikala in this process lacks the newer keys.
RESTORE.mk ??= Symbol('pikala.makeMember');
RESTORE.a ??= [];

interface Setters {
  sp: ((o: object, name: string, v: unknown) => void) | undefined;
  ss: ((name: string, v: unknown) => void) | undefined;
  mk: ((index: number) => Function) | undefined;
}
/** Private setters of classes rebuilt in this process. */
const SETTERS_KEY = Symbol.for('pikala.restore.setters.v1');
const setters: WeakMap<Function, Setters> = ((globalThis as Record<symbol, WeakMap<Function, Setters> | undefined>)[SETTERS_KEY] ??= new WeakMap());

export interface ClassPlan {
  maker: Maker;
  env: Env | null;
  id: string;
  /** undefined: no extends clause; null: extends null. */
  parent: object | null | undefined;
  keys: (string | symbol)[];
  rewrite: RewrittenClass;
  /** The class (or a by-value ancestor) declares private names: no identity with an original class. */
  privateNames: boolean;
  /** Static private field values, by name. */
  staticPrivates: [string, unknown][];
  /** Own keys of the class that its definition creates with these exact values (skipped in the fill). */
  staticOriginal: Set<PropertyKey>;
  /** Static member keys the definition creates that are gone now. */
  staticRemoved: PropertyKey[];
  /** Same for the prototype. */
  protoOriginal: Set<PropertyKey>;
  protoRemoved: PropertyKey[];
}

export interface InstancePlan {
  cls: Function;
  brand: ObjectCodec<object>;
  /** Private field values, each with the class whose setter writes it. */
  privates: { owner: Function; name: string; value: unknown }[];
}

export interface ClassPlanSource {
  classPlanOf(cls: Function): ClassPlan;
  instancePlanOf(o: object): InstancePlan;
  /** Prototype object → its by-value class. */
  readonly classPrototypes: ReadonlyMap<object, Function>;
}

function isObjectLike(v: unknown): v is object {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/** Decoder: classes that already existed here; their payload state is read and dropped. */
const reused = new WeakSet<object>();

export function classCodec(plans: ClassPlanSource): ObjectCodec<Function> {
  return {
    kind: Kind.Class,
    name: 'class',
    code: true,
    // What the class definition gives: its heritage, or Function.prototype. A [[Prototype]] set later by
    // the program differs, travels in the record, and is set after the class is made.
    defaultProto(cls) {
      if (cls === null) return FunctionPrototype;
      const parent = plans.classPlanOf(cls).parent;
      return typeof parent === 'function' ? parent : FunctionPrototype;
    },
    deps(cls) {
      const plan = plans.classPlanOf(cls);
      const deps: object[] = [];
      if (plan.env !== null) deps.push(plan.env);
      if (isObjectLike(plan.parent)) deps.push(plan.parent);
      return deps;
    },
    writeCreate(p: Pickler, cls: Function) {
      const w = p.w;
      const plan = plans.classPlanOf(cls);
      w.varint(plan.maker.id);
      if (plan.env === null) w.u8(0);
      else { w.u8(1); p.writeDepRef(plan.env); }
      p.writeString(plan.id);
      if (plan.parent === undefined) w.u8(0);
      else if (plan.parent === null) w.u8(1);
      else { w.u8(2); p.writeDepRef(plan.parent); }
      w.varint(plan.keys.length);
      for (const k of plan.keys) p.visit(k);
      w.u8(plan.privateNames ? 1 : 0);
    },
    writeFill(p: Pickler, cls: Function) {
      const plan = plans.classPlanOf(cls);
      const w = p.w;
      w.u8(integrityOf(cls));
      w.varint(plan.staticPrivates.length);
      for (const [name] of plan.staticPrivates) p.writeString(name);
      writeRemovals(p, plan.staticRemoved);
      // The prototype comes first, so that methods added to it after class creation travel too.
      const proto = ObjectGetOwnPropertyDescriptor(cls, 'prototype')!.value as unknown;
      const values: unknown[] = [proto, ...plan.staticPrivates.map(([, v]) => v)];
      const nContents = values.length;
      const keys: PropertyKey[] = [];
      p.writeProps(cls, values, (k) => k === 'prototype' || plan.staticOriginal.has(k), keys);
      p.pushList(values, new FillLabels(nContents, (i) => (i === 0 ? '.prototype' : `.${plan.staticPrivates[i - 1]![0]}`), keys, cls));
    },
    create(u: Unpickler, proto) {
      const r = u.r;
      const code = codeOf(u);
      const maker = code.makers[r.varint()];
      if (maker === undefined) throw corrupt('unknown class maker');
      const hasEnv = r.u8();
      if (hasEnv > 1) throw corrupt('bad environment flag');
      const env = hasEnv ? u.readObjectRef() as { f?: Record<string, Function> } : null;
      const id = u.readString();
      const heritage = r.u8();
      let parent: unknown;
      if (heritage === 1) parent = null;
      else if (heritage === 2) parent = u.readObjectRef();
      else if (heritage !== 0) throw corrupt('bad heritage flag');
      const n = r.count(1);
      const keys: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const k = u.readOne();
        if (typeof k !== 'string' && typeof k !== 'symbol') throw corrupt('class key is not a string or symbol');
        keys.push(k);
      }
      const privateNames = r.u8() === 1;
      const known = knownClass(id);
      if (known !== undefined && !(known.original && privateNames)) {
        reused.add(known.cls);
        reused.add(known.cls.prototype as object);
        return known.cls;
      }
      if (known !== undefined) {
        const twin = twinClass(id);
        if (twin !== undefined) { reused.add(twin); reused.add(twin.prototype as object); return twin; }
      }
      const makers = env !== null ? env.f : code.looseMakers(maker.unit);
      const make = makers?.[maker.key];
      if (typeof make !== 'function') throw corrupt('class maker is not in its environment');
      let cls: Function;
      RESTORE.on = true;
      try {
        cls = make(parent, RESTORE, keys) as Function;
      } finally {
        RESTORE.on = false;
      }
      if (typeof cls !== 'function') throw corrupt('a class maker did not produce a class');
      const own = { sp: ownMethod(cls, RESTORE.sp), ss: ownMethod(cls, RESTORE.ss), mk: ownMethod(cls, RESTORE.mk) };
      delete (cls as unknown as Record<symbol, unknown>)[RESTORE.sp];
      delete (cls as unknown as Record<symbol, unknown>)[RESTORE.ss];
      delete (cls as unknown as Record<symbol, unknown>)[RESTORE.mk];
      setters.set(cls, own as Setters);
      if (proto !== undefined) ObjectSetPrototypeOf(cls, proto);
      registerLoadedClass(id, cls, known !== undefined);
      return cls;
    },
    readFill(u: Unpickler, cls: object) {
      const s = new FillState(cls);
      s.integrity = u.readIntegrity();
      const n = u.r.count(1);
      const names: string[] = [''];
      for (let i = 0; i < n; i++) names.push(u.readString());
      s.remove = readRemovals(u);
      s.content = Content.ScopeVars;
      s.names = names;
      s.nContents = n + 1;
      const ss = setters.get(cls as Function)?.ss;
      if (n !== 0 && ss === undefined && !reused.has(cls)) throw corrupt('static private fields for a class without them');
      const proto = ObjectGetOwnPropertyDescriptor(cls, 'prototype')?.value as unknown;
      s.setter = (name, v) => {
        if (name === '') { if (v !== proto) throw corrupt('class fill names another prototype'); return; }
        ss?.call(cls, name, v);
      };
      if (reused.has(cls)) s.discard = true;
      u.readPropsAndPush(s);
    },
  };
}

function ownMethod(o: object, key: symbol): Function | undefined {
  const d = ObjectGetOwnPropertyDescriptor(o, key);
  return d && typeof d.value === 'function' ? d.value as Function : undefined;
}

function writeRemovals(p: Pickler, keys: PropertyKey[]): void {
  p.w.varint(keys.length);
  for (const k of keys) p.visit(typeof k === 'number' ? String(k) : k);
}

function readRemovals(u: Unpickler): PropertyKey[] | null {
  const n = u.r.count(1);
  if (n === 0) return null;
  const out: PropertyKey[] = [];
  for (let i = 0; i < n; i++) {
    const k = u.readOne();
    if (typeof k !== 'string' && typeof k !== 'symbol') throw corrupt('removed key is not a string or symbol');
    out.push(k);
  }
  return out;
}

/** A class's prototype: made by the class itself; only later changes travel. */
export function prototypeCodec(plans: ClassPlanSource): ObjectCodec<object> {
  const classOf = (proto: object) =>
    plans.classPrototypes.get(proto) ?? ObjectGetOwnPropertyDescriptor(proto, 'constructor')!.value as Function;
  return {
    kind: Kind.ClassPrototype,
    name: 'prototype',
    code: true,
    defaultProto: (proto) => (proto === null ? null : ObjectGetPrototypeOf(proto)),
    deps: (proto) => [classOf(proto)],
    writeCreate(p: Pickler, proto: object) {
      p.writeDepRef(classOf(proto));
    },
    writeFill(p: Pickler, proto: object) {
      const plan = plans.classPlanOf(classOf(proto));
      p.w.u8(integrityOf(proto));
      writeRemovals(p, plan.protoRemoved);
      const values: unknown[] = [];
      const keys: PropertyKey[] = [];
      p.writeProps(proto, values, (k) => plan.protoOriginal.has(k), keys);
      p.pushList(values, new FillLabels(0, () => '', keys, proto));
    },
    create(u: Unpickler) {
      const cls = u.readObjectRef();
      if (typeof cls !== 'function') throw corrupt('prototype of something that is not a class');
      const d = ObjectGetOwnPropertyDescriptor(cls, 'prototype');
      if (d === undefined || !isObjectLike(d.value)) throw corrupt('class without a prototype');
      return d.value as object;
    },
    readFill(u: Unpickler, proto: object) {
      const s = new FillState(proto);
      s.integrity = u.readIntegrity();
      s.remove = readRemovals(u);
      if (reused.has(proto)) s.discard = true;
      u.readPropsAndPush(s);
    },
  };
}

/** Objects with #private state: made by their class's guarded constructor, then filled. */
export function instanceCodec(plans: ClassPlanSource): ObjectCodec<object> {
  return {
    kind: Kind.Instance,
    name: 'instance',
    code: true,
    defaultProto: (o) => (o === null ? null : plans.instancePlanOf(o).cls.prototype as object),
    deps(o) {
      const plan = plans.instancePlanOf(o);
      const deps: object[] = [plan.cls, ...plan.brand.deps?.(o) ?? []];
      for (const pr of plan.privates) if (!deps.includes(pr.owner)) deps.push(pr.owner);
      return deps;
    },
    writeCreate(p: Pickler, o: object) {
      const plan = plans.instancePlanOf(o);
      p.writeDepRef(plan.cls);
      p.w.u8(plan.brand.kind);
      // What the built-in base needs to exist (a Date's time, a view's buffer, a URL's href): the loader
      // passes it to the base constructor.
      plan.brand.writeCreate(p, o);
    },
    writeFill(p: Pickler, o: object) {
      const plan = plans.instancePlanOf(o);
      // Header order: privates, then the brand's fill. Values: the brand's first, then the privates' — the
      // privates' list goes under the brand's, since a brand codec may write some of its values in place
      // (Map and Set entries that are primitives) while it writes its header.
      p.w.varint(plan.privates.length);
      for (const pr of plan.privates) { p.writeDepRef(pr.owner); p.writeString(pr.name); }
      p.pushList(plan.privates.map((pr) => pr.value), { segment: (i) => `.${plan.privates[i]!.name}` });
      plan.brand.writeFill(p, o);
    },
    create(u: Unpickler, proto) {
      const cls = u.readObjectRef();
      if (typeof cls !== 'function') throw corrupt('instance of something that is not a class');
      const brand = u.r.u8();
      const brandCodec = CODECS[brand];
      if (brandCodec === undefined || brand === Kind.Instance || brandCodec.code) throw corrupt('bad instance brand');
      const seed = brandCodec.create(u, undefined);
      let o: object;
      RESTORE.on = true;
      RESTORE.a = baseArguments(brand, seed);
      try {
        o = ReflectConstruct(cls, []) as object;
      } catch (e) {
        throw corrupt(`could not restore an instance of ${functionName(cls as Function) || 'a class'}: ${(e as Error).message}`);
      } finally {
        RESTORE.on = false;
        RESTORE.a = [];
      }
      if (proto !== undefined && ObjectGetPrototypeOf(o) !== proto) ObjectSetPrototypeOf(o, proto);
      instanceBrands.set(o, brand);
      // The guarded construction created the public fields (undefined): the payload's properties replace them
      // all, in their dump-time order, and fields deleted before the dump stay deleted. (What the built-in
      // base made unconfigurable, like a RegExp's lastIndex or an array's length, stays and is filled.)
      constructedKeys.set(o, ReflectOwnKeys(o).filter((k) => ObjectGetOwnPropertyDescriptor(o, k)!.configurable));
      return o;
    },
    readFill(u: Unpickler, o: object) {
      const n = u.r.count(2);
      const entries: [Function, string][] = [];
      for (let i = 0; i < n; i++) {
        const owner = u.readObjectRef();
        const name = u.readString();
        const sp = setters.get(owner as Function)?.sp;
        if (sp === undefined) throw corrupt('private field of a class that has none');
        entries.push([sp, name]);
      }
      const brand = instanceBrands.get(o);
      if (brand === undefined) throw corrupt('instance fill without its record');
      const made = takeConstructedKeys(o);
      // (Reflect: a typed array's elements report configurable but cannot be deleted; they stay, as the
      // buffer holds them.)
      if (made !== null) for (let i = 0; i < made.length; i++) ReflectDeleteProperty(o, made[i]!);
      // The privates' frame goes under the brand's: their values come after the brand's.
      const s = new FillState(o);
      s.content = Content.ScopeVars;
      s.names = entries.map(([, name]) => name);
      s.nContents = n;
      let i = 0;
      s.setter = (name, v) => { entries[i++]![0](o, name, v); };
      u.pushFill(s);
      CODECS[brand]!.readFill(u, o);
    },
  };
}

const instanceBrands = new WeakMap<object, number>();
const constructedKeys = new WeakMap<object, PropertyKey[]>();

/** Own keys an Instance record's construction created (the brand codec's fill removes them first). */
const urlHref = ObjectGetOwnPropertyDescriptor(URL.prototype, 'href')!.get!;
const searchParamsToString = URLSearchParams.prototype.toString;
const numberValueOf = Number.prototype.valueOf;
const stringValueOf = String.prototype.valueOf;
const booleanValueOf = Boolean.prototype.valueOf;

/**
 * The arguments a built-in base constructor gets when an instance is restored (the restore guard calls
 * `super(...R.a)`), taken from a plain object of that brand made from the payload. Brands whose content
 * comes with the fill (Map entries, Error message, array elements) need none.
 */
function baseArguments(brand: Kind, seed: object): unknown[] {
  switch (brand) {
    case Kind.Date: return [seed];
    case Kind.RegExp: return [RegExpPrototypeGetSource(seed), RegExpPrototypeGetFlags(seed)];
    case Kind.TypedArray: return [TypedArrayPrototypeGetBuffer(seed), TypedArrayPrototypeGetByteOffset(seed), TypedArrayPrototypeGetLength(seed)];
    case Kind.DataView: return [DataViewPrototypeGetBuffer(seed), DataViewPrototypeGetByteOffset(seed), DataViewPrototypeGetByteLength(seed)];
    case Kind.URL: return [urlHref.call(seed)];
    case Kind.URLSearchParams: return [searchParamsToString.call(seed)];
    case Kind.BoxedNumber: return [numberValueOf.call(seed)];
    case Kind.BoxedString: return [stringValueOf.call(seed)];
    case Kind.BoxedBoolean: return [booleanValueOf.call(seed)];
    default: return [];
  }
}

export function takeConstructedKeys(o: object): PropertyKey[] | null {
  const keys = constructedKeys.get(o);
  if (keys === undefined) return null;
  constructedKeys.delete(o);
  return keys;
}

export interface MemberPlan {
  cls: Function;
  /** Index of the maker in the class's member makers. */
  index: number;
  thisValue: unknown;
}

/**
 * Arrow fields that use #private names: made by a maker compiled inside their class, called with the
 * captured `this`. Create payload: class, maker index, this. Fill: as for functions.
 */
export function memberCodec(plans: { memberOf(fn: Function): MemberPlan }): ObjectCodec<Function> {
  return {
    kind: Kind.ClassMember,
    name: 'class member',
    code: true,
    defaultProto: () => FunctionPrototype,
    deps(fn) {
      const m = plans.memberOf(fn);
      return isObjectLike(m.thisValue) ? [m.cls, m.thisValue] : [m.cls];
    },
    writeCreate(p: Pickler, fn: Function) {
      const m = plans.memberOf(fn);
      p.writeDepRef(m.cls);
      p.w.varint(m.index);
      p.visit(m.thisValue);
    },
    writeFill(p: Pickler, fn: Function) { writeFunctionFill(p, fn, (k) => k === 'arguments' || k === 'caller'); },
    create(u: Unpickler) {
      const cls = u.readObjectRef();
      const index = u.r.varint();
      const thisValue = u.readOne();
      const mk = setters.get(cls as Function)?.mk;
      if (mk === undefined) throw corrupt('a class member of a class that has no member makers');
      const make = mk.call(cls, index);
      if (typeof make !== 'function') throw corrupt('unknown class member');
      const fn = make.call(thisValue) as unknown;
      if (typeof fn !== 'function') throw corrupt('a class member maker did not make a function');
      return fn;
    },
    readFill(u, o) { readFunctionFill(u, o); },
  };
}
