/**
 * Plans how each function of a dump is written: by reference (built-ins), as a bound function, or by value
 * (source text + the environments of the variables it uses). One planner per dumps call.
 */
import { PikalaError } from '../api/errors.js';
import type { ObjectCodec } from '../codecs/codec.js';
import { boundCodec, functionCodec, ScopeCodec, superArrowHomes, type BoundPlan, type FunctionPlan, type PlanSource } from '../codecs/functions.js';
import {
  classCodec, instanceCodec, memberCodec, prototypeCodec, type ClassPlan, type ClassPlanSource, type InstancePlan,
  type MemberPlan,
} from '../codecs/classes.js';
import { rewriteClass } from './class-rewrite.js';
import { classFacts, hasPrivateNames, isSourceClass, planInstance } from './classes.js';
import type { Pickler } from '../pickler/pickler.js';
import {
  FunctionPrototype, FunctionPrototypeToString, ObjectCreate, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf,
  ObjectHasOwn,
  functionName,
} from '../util/primordials.js';
import { analyzeMethodText, analyzeSource, memberAccesses, SourceError, type SourceAnalysis } from './analyze.js';
import { CodeGraph, isEnv, type Env, type MakerMode } from './closures.js';
import { getProber, isProbeable, releaseProber } from './probe.js';
import { generate } from './codegen.js';
import { parsersMissing } from './parsers.js';
import { captureFunction, captureFunctions, proxyTarget, scriptUrl, type FunctionCapture, type ScopeInfo } from './inspector.js';
import { builtinPath, isModuleObject, isNodeInternal, knownBuiltinPath } from './registry.js';
import {
  closureWrites, enclosingClassMember, enclosingFunctionNames, functionOffset, mayNameFunction, scriptInfo, strictAt,
} from './script-info.js';
import { ModuleRef, esmPackageRef, isModuleRef, defaultBase, isRequireFunction, packageImports, packageRefOf, packageVersionOf, refreshPackageIndex } from './modules.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import { moduleRefCodec } from '../codecs/modules.js';
import { isArgumentsObject, isModuleNamespaceObject, isProxy } from '../util/primordials.js';
import { writePrologue } from './rebuild.js';
import { ByteWriter } from '../format/byte-writer.js';
import { keepAlive } from '../util/keep-alive.js';
import { prototypeOwner } from '../util/prototypes.js';

const AsyncFunctionPrototype = ObjectGetPrototypeOf(async function () { /* probe */ }) as object;
const GeneratorFunctionPrototype = ObjectGetPrototypeOf(function* () { /* probe */ }) as object;
const AsyncGeneratorFunctionPrototype = ObjectGetPrototypeOf(async function* () { /* probe */ }) as object;

/** Names whose global value is never shipped (the receiver has its own). */
const ALWAYS_FREE = new Set(['undefined', 'NaN', 'Infinity', 'globalThis']);

export class FunctionPlanner implements PlanSource, ClassPlanSource {
  readonly graph = new CodeGraph();
  private readonly plans = new Map<Function, FunctionPlan>();
  private readonly bounds = new Map<Function, BoundPlan>();
  private readonly classPlans = new Map<Function, ClassPlan>();
  private readonly instancePlans = new Map<object, InstancePlan>();
  readonly functionCodec = functionCodec(this);
  readonly boundCodec = boundCodec(this);
  readonly classCodec = classCodec(this) as ObjectCodec<Function>;
  readonly prototypeCodec = prototypeCodec(this);
  readonly instanceCodec = instanceCodec(this);
  private readonly moduleRefs = new Map<object, ModuleRef>();
  private indexRefreshed = false;
  readonly moduleRefCodec = moduleRefCodec(this);

  moduleRefOf(o: object): ModuleRef {
    if (isModuleRef(o)) return o;
    const ref = this.moduleRefs.get(o);
    if (ref === undefined) throw new Error('pikala internal error: module reference written before it was found');
    return ref;
  }

  /**
   * Whether `v` travels as a module reference: a package member (by identity) or a CommonJS require
   * function; registers it for the codec.
   */
  moduleRefFor(v: object): boolean {
    if (this.moduleRefs.has(v)) return true;
    if (!this.indexRefreshed) { this.indexRefreshed = true; refreshPackageIndex(); }
    let ref: ModuleRef | undefined;
    if (isRequireFunction(v)) ref = new ModuleRef('', [], 'require', '', '');
    else ref = packageRefOf(v);
    if (ref === undefined) return false;
    this.moduleRefs.set(v, ref);
    return true;
  }

  classPlanOf(cls: Function): ClassPlan {
    const plan = this.classPlans.get(cls);
    if (plan === undefined) throw new Error('pikala internal error: class written before it was planned');
    return plan;
  }

  instancePlanOf(o: object): InstancePlan {
    const plan = this.instancePlans.get(o);
    if (plan === undefined) throw new Error('pikala internal error: instance written before it was planned');
    return plan;
  }

  /**
   * Codecs for objects the code layer owns: scope environments, module references, and prototypes made by
   * a constructor (a package class's prototype travels as a reference; a by-value class's is made by it).
   */
  specialCodec(p: Pickler, o: object): ObjectCodec<object> | undefined {
    if (isEnv(o)) return ScopeCodec as unknown as ObjectCodec<object>;
    if (isModuleObject(o)) {
      p.fail('PIKALA_UNSUPPORTED', 'a CommonJS module object (a file\'s `module`, or an entry of require.cache) cannot ' +
        'travel: it stands for a file of this machine and the modules it loaded. Use the values it holds instead ' +
        '(module.exports members, __filename)');
    }
    if (isModuleRef(o) || this.moduleRefFor(o)) return this.moduleRefCodec;
    if (isModuleNamespaceObject(o) && this.namespaceRef(p, o)) return this.moduleRefCodec;
    if (this.classPrototypes.has(o)) return this.prototypeCodec;
    const ctor = prototypeOwner(o);
    if (ctor === undefined) return undefined;
    const facts = this.ctorFacts(p, ctor);
    if (facts.path !== undefined) return undefined; // a built-in's prototype: the registry has it
    if (facts.moduleRef !== undefined) {
      const r = facts.moduleRef;
      this.moduleRefs.set(o, new ModuleRef(r.specifier, [...r.path, 'prototype'], 'value', r.packageName, r.version, r.viaImport, r.via));
      return this.moduleRefCodec;
    }
    if (facts.sourceClass) {
      this.plan(p, ctor, true);
      return this.prototypeCodec;
    }
    return undefined;
  }

  /** Prototype object → its by-value class (whatever its `constructor` property says now). */
  readonly classPrototypes = new Map<object, Function>();

  /**
   * An ES module namespace reached as a value: the module is found through one of its functions (the file
   * that defined it); only an installed package's namespace can travel (by reference).
   */
  private namespaceRef(p: Pickler, ns: object): boolean {
    for (const key of Object.keys(ns)) {
      const d = ObjectGetOwnPropertyDescriptor(ns, key);
      const v = d && 'value' in d ? d.value as unknown : undefined;
      if (typeof v !== 'function' || builtinPath(v) !== undefined) continue;
      let url: string | undefined;
      try { url = scriptUrl(this.capture(p, v).scriptId); } catch { continue; }
      if (url === undefined || !url.startsWith('file:')) continue;
      const ref = esmPackageRef(v, url);
      if (ref === undefined) return false;
      this.moduleRefs.set(ns, new ModuleRef(ref.specifier, [], 'namespace', ref.packageName, ref.version, true, ref.via));
      return true;
    }
    return false;
  }

  private readonly ctors = new Map<Function, CtorFacts>();

  /**
   * Fails the dump (with the path) when acorn and eslint-scope cannot be loaded, before any reading of source
   * text, some of which treats a parser's failure as "this text does not parse".
   */
  private needParsers(p: Pickler): void {
    const missing = parsersMissing();
    if (missing !== null) p.fail('PIKALA_CAPTURE', missing);
  }

  /** What matters about a constructor for its instances and prototype, computed once per dump. */
  private ctorFacts(p: Pickler, ctor: Function): CtorFacts {
    let f = this.ctors.get(ctor);
    if (f === undefined) {
      const path = builtinPath(ctor);
      const moduleRef = path === undefined && this.moduleRefFor(ctor) ? this.moduleRefs.get(ctor) : undefined;
      const internal = path === undefined && moduleRef === undefined && isNodeInternal(ctor) === true;
      const sourceClass = path === undefined && !internal && isSourceClass(ctor);
      if (sourceClass) this.needParsers(p);
      f = { path, moduleRef, internal, sourceClass, privateNames: sourceClass && hasPrivateNames(ctor) };
      this.ctors.set(ctor, f);
    }
    return f;
  }

  /**
   * The codec for an object whose prototype belongs to a constructor: a by-value class's instance (Instance
   * record when private state is involved), a package class's or a plain constructor function's instance
   * (its state by value, its prototype by reference or by value), or a refusal for instances of Node's own
   * classes (streams, sockets, servers, timers wrap live resources).
   */
  instanceCodecFor(p: Pickler, o: object, proto: object, brand: ObjectCodec<object>): ObjectCodec<object> | false {
    const ctor = ObjectGetOwnPropertyDescriptor(proto, 'constructor')?.value as Function;
    const facts = this.ctorFacts(p, ctor);
    if (facts.path !== undefined) {
      if (facts.path.startsWith('node:') || NODE_GLOBAL_CLASSES.has(facts.path)) {
        p.fail('PIKALA_UNSUPPORTED', `an instance of ${functionName(ctor) || facts.path} (${facts.path}) cannot be serialized: ` +
          'objects of Node\'s own classes wrap live resources (handles, streams, sockets). Send the data they hold instead');
      }
      return brand;
    }
    if (facts.internal) {
      p.fail('PIKALA_UNSUPPORTED', `an instance of ${className(ctor)} cannot be serialized: it is a class of Node's ` +
        'internals (timers, handles, streams) and wraps live state of this process');
    }
    if (facts.moduleRef !== undefined) {
      if (isSourceClass(ctor) && hasPrivateNames(ctor)) {
        p.fail('PIKALA_UNSUPPORTED', `an instance of ${className(ctor)} from the package ${facts.moduleRef.packageName} ` +
          'has #private fields, which only its own constructor can give an object; registerByValue the package, ' +
          'or send the data the instance holds');
      }
      return brand;
    }
    if (facts.sourceClass) {
      this.plan(p, ctor, true);
      if (!facts.privateNames) return brand;
      return planInstance(p, o, ctor, brand, this.instanceCodec, this.instancePlans);
    }
    return brand;
  }

  planOf(fn: Function): FunctionPlan {
    const plan = this.plans.get(fn);
    if (plan === undefined) throw new Error('pikala internal error: function written before it was planned');
    return plan;
  }

  boundOf(fn: Function): BoundPlan {
    const plan = this.bounds.get(fn);
    if (plan === undefined) throw new Error('pikala internal error: bound function written before it was planned');
    return plan;
  }

  private currentPickler: Pickler | null = null;

  /** Decides how `fn` is written and returns its codec. `asDependency`: not reached as a property value. */
  plan(p: Pickler, fn: Function, asDependency: boolean): ObjectCodec<Function> {
    this.currentPickler = p;
    const existing = this.plans.has(fn) ? this.functionCodec : this.bounds.has(fn) ? this.boundCodec
      : this.classPlans.has(fn) ? this.classCodec : this.members.has(fn) ? this.memberCodec : null;
    if (existing !== null) return existing;
    this.needParsers(p);
    const text = FunctionPrototypeToString(fn);
    let analysis: SourceAnalysis;
    try {
      analysis = analyzeSource(text);
    } catch (e) {
      if (e instanceof SourceError) {
        if (/\bimport\s*\.\s*meta\b/.test(text)) {
          p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} uses import.meta, which belongs to its module and cannot ` +
            'travel; read what it needs (import.meta.url, ...) into a variable outside the function and use that');
        }
        // An arrow field of a class that uses the class's #private names compiles only inside that class.
        if (/#[A-Za-z_$]/.test(text)) {
          const member = this.planClassMember(p, fn, text, asDependency);
          if (member !== null) return member;
          p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} uses #private names of a class, so it can only be rebuilt ` +
            'inside that class; pikala rebuilds arrow fields of by-value classes (ship the object that holds it), ' +
            'not other functions taken out of a class');
        }
        p.fail('PIKALA_UNSUPPORTED', `cannot serialize ${describe(fn)}: its source text does not parse (${e.message})`);
      }
      throw e;
    }
    // A method named `function` prints as `function() {}` (or `async function() {}`), which also parses as a
    // function expression; only the method has the name 'function' (the word cannot name a function).
    if (analysis.kind === 'function' && functionName(fn) === 'function' && !ObjectHasOwn(fn, 'prototype')) {
      try { analysis = analyzeMethodText(text); } catch { /* keep the function reading */ }
    }
    if (analysis.kind === 'native') {
      const capture = this.capture(p, fn);
      if (capture.bound !== undefined) {
        this.bounds.set(fn, capture.bound);
        p.hasCode = true;
        return this.boundCodec;
      }
      if (isProxy(fn)) {
        p.fail('PIKALA_UNSUPPORTED', 'a function Proxy cannot be serialized: its handler\'s traps decide what it does, ' +
          'and reading them would run them. Ship the target function and the handler instead');
      }
      p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is native code that is not a known built-in; it cannot travel. ` +
        'If it comes from a native addon, call it inside the shipped function instead of capturing it');
    }
    if (analysis.kind === 'class') return this.planClass(p, fn, text);
    if (analysis.usesWith) {
      p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} uses a with statement, whose scope pikala cannot rebuild`);
    }
    const capture = this.capture(p, fn);
    // A function of an installed ES module (reached as a value, not through an import of a shipped
    // function's module) is the package's: by reference.
    if (capture.scopes.some((s) => s.type === 'Module')) {
      const ref = esmPackageRef(fn, scriptUrl(capture.scriptId));
      if (ref !== undefined) {
        this.moduleRefs.set(fn, ref);
        return this.moduleRefCodec as unknown as ObjectCodec<Function>;
      }
    }
    this.refuseWithScopes(p, fn, capture);
    const strict = this.isStrict(fn, capture, analysis);

    const initialMode: MakerMode = makerMode(analysis);
    const modeName = initialMode as string;

    let homeProto: object | null = null;
    let key: string | symbol | undefined;
    if (initialMode === 'method' || initialMode === 'get' || initialMode === 'set' || initialMode === 'superArrow') {
      const prop = asDependency ? null : p.currentProperty();
      // The method is rebuilt in an object literal under the key its text has, so that its name and text
      // stay its own; only a computed (or private) key is replaced by the key it was found under.
      const textKey = analysis.key && !analysis.key.computed && analysis.key.name !== null && !analysis.key.isPrivate
        ? analysis.key.name : undefined;
      if (prop !== null && initialMode !== 'superArrow') {
        homeProto = ObjectGetPrototypeOf(prop.container);
        key = textKey ?? (typeof prop.key === 'number' ? String(prop.key) : prop.key);
      } else if (initialMode === 'superArrow') {
        // Its home object is found from its `this`, read below.
      } else if (analysis.usesSuper) {
        p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is a method that uses super, found outside the object that ` +
          'defines it; ship the object (or class) that holds it');
      } else if (textKey !== undefined) {
        key = textKey;
      } else {
        p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is a method with a computed key found outside its object; ` +
          'ship the object that holds it');
      }
    }

    const probeable = isProbeable(analysis.kind, analysis.isAsync, analysis.isGenerator);
    let thisValue: unknown;
    let newTarget: Function | undefined;
    let mode: MakerMode = initialMode;
    if (modeName === 'this' || modeName === 'superArrow') {
      const r = this.readThis(p, fn, analysis, probeable);
      thisValue = r.thisValue;
      if (analysis.usesNewTarget && typeof r.newTarget === 'function') {
        if (modeName === 'superArrow') {
          p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is an arrow that uses both super and new.target`);
        }
        mode = 'newTarget';
        newTarget = r.newTarget as Function;
      }
      if (modeName === 'superArrow') homeProto = this.superArrowHome(p, fn, capture, thisValue);
    }

    const passArguments = modeName === 'this' && analysis.usesArguments;
    const env = this.placeIn(fn, capture, analysis.free, analysis.usesDirectEval, probeable, analysis);
    const maker = this.graph.maker(capture, text, mode, strict, analysis, env, passArguments);
    let args: unknown[] | null = null;
    if (passArguments) {
      // The arrow's `arguments` is its enclosing function's: give the maker the same elements.
      const holder = capture.scopes.find((s) => s.vars !== null && Object.prototype.hasOwnProperty.call(s.vars, 'arguments'));
      const a = holder?.vars!['arguments'] as ArrayLike<unknown> | undefined;
      args = a !== undefined && a !== null ? Array.from(a) : [];
    }
    const plan: FunctionPlan = {
      maker, env, homeProto, key, thisValue, args, ...(newTarget !== undefined ? { newTarget } : {}),
      defaultProto: analysis.isAsync
        ? (analysis.isGenerator ? AsyncGeneratorFunctionPrototype : AsyncFunctionPrototype)
        : analysis.isGenerator ? GeneratorFunctionPrototype : FunctionPrototype,
    };
    this.plans.set(fn, plan);
    p.hasCode = true;
    return this.functionCodec;
  }

  /**
   * A with statement's scope is a live object whose properties shadow variables: not rebuildable. Functions
   * of Node's own modules close over its internals (primordials, internalBinding): they can only travel by
   * reference, and reaching here means pikala found no path to this one.
   */
  private refuseWithScopes(p: Pickler, fn: Function, capture: FunctionCapture): void {
    if (capture.scopes.some((s) => s.type === 'With Block')) {
      p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} was made inside a with statement, whose scope pikala cannot rebuild`);
    }
    if (capture.scopes.some((s) => s.vars !== null && ('primordials' in s.vars || 'internalBinding' in s.vars))) {
      p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is part of Node's internals and is not reachable from a public ` +
        'module export; capture the public function that uses it instead');
    }
  }

  /**
   * An arrow field initializer (instance or static) of a by-value class, found on the object that holds it:
   * it is made by a maker compiled inside the class text (so its #private names resolve), called with the
   * captured `this` (read by the probe).
   */
  private planClassMember(p: Pickler, fn: Function, text: string, asDependency: boolean): ObjectCodec<Function> | null {
    const prop = asDependency ? null : p.currentProperty();
    // Instance fields: the holder's classes; static fields: the holder is the class (or a subclass). Failing
    // that, classes the arrow can see (a static arrow naming its class has it in scope).
    const candidates: { cls: Function; isStatic: boolean }[] = [];
    if (prop !== null) {
      const holder = prop.container;
      if (typeof holder === 'function') candidates.push({ cls: holder, isStatic: true });
      for (let q = ObjectGetPrototypeOf(holder); q !== null; q = ObjectGetPrototypeOf(q)) {
        if (isProxy(q)) break;
        const d = ObjectGetOwnPropertyDescriptor(q, 'constructor');
        if (d !== undefined && typeof d.value === 'function') candidates.push({ cls: d.value as Function, isStatic: false });
      }
    }
    for (const scope of this.capture(p, fn).scopes) {
      if (scope.vars === null) continue;
      for (const v of Object.values(scope.vars)) {
        if (typeof v === 'function') candidates.push({ cls: v as Function, isStatic: true }, { cls: v as Function, isStatic: false });
      }
    }
    for (const { cls, isStatic } of candidates) {
      if (!isSourceClass(cls) || builtinPath(cls) !== undefined) continue;
      const classText = FunctionPrototypeToString(cls);
      const rw = rewriteClass(classText);
      // In a class pikala rebuilt, the initializer carries the restore guard around the original text.
      const matches = (init: string) => init === text || /^\$pk\$*R\.on \? undefined : \(/.test(init) && init.endsWith(`(${text})`);
      const el = rw.elements.find((e) => e.kind === 'field' && e.isStatic === isStatic && matches(classText.slice(e.valueStart, e.valueEnd)));
      if (el === undefined) continue;
      this.plan(p, cls, true);
      const plan = this.classPlanOf(cls);
      let index = plan.maker.classMembers.indexOf(text);
      if (index < 0) index = plan.maker.classMembers.push(text) - 1;
      const thisValue = this.readThis(p, fn, { ...EMPTY_ANALYSIS, usesThis: true }, true).thisValue;
      this.members.set(fn, { cls, index, thisValue });
      p.hasCode = true;
      return this.memberCodec;
    }
    return null;
  }

  private readonly members = new Map<Function, MemberPlan>();
  readonly memberCodec = memberCodec(this);

  memberOf(fn: Function): MemberPlan {
    const m = this.members.get(fn);
    if (m === undefined) throw new Error('pikala internal error: class member written before it was planned');
    return m;
  }

  /** A class: rewritten text in the environment of the names it uses. */
  private planClass(p: Pickler, cls: Function, text: string): ObjectCodec<Function> {
    const capture = this.capture(p, cls, true);
    this.refuseWithScopes(p, cls, capture);
    const facts = classFacts(p, cls, text, capture);
    const env = this.placeIn(cls, capture, facts.freeNames, false, false, analyzeSource(facts.rewrite.text));
    const maker = this.graph.maker(capture, facts.rewrite.text, 'class', true, analyzeSource(facts.rewrite.text), env, false);
    maker.classPrefix = facts.rewrite.prefix;
    this.classPlans.set(cls, { ...facts.plan, maker, env });
    this.classPrototypes.set(ObjectGetOwnPropertyDescriptor(cls, 'prototype')!.value as object, cls);
    p.hasCode = true;
    return this.classCodec;
  }

  /** Resolves free names to scope variables or user globals and places the function in its environment. */
  private placeIn(fn: Function, capture: FunctionCapture, freeNames: readonly string[], directEval: boolean,
    probeable: boolean, analysis: SourceAnalysis): Env | null {
    let free = freeNames;
    if (directEval) {
      // Direct eval can name any variable: V8 kept them all, so ship them all — but a CommonJS file's
      // `module` (and its wrapper's arguments) only when the function's own text names them.
      const all = new Set(free);
      for (const s of capture.scopes) {
        if (s.vars === null) continue;
        for (const n of Object.keys(s.vars)) {
          if (holdsModuleObject(s.vars[n])) continue;
          all.add(n);
        }
      }
      free = [...all];
    }
    const inScopes = new Set<string>();
    for (const s of capture.scopes) if (s.vars !== null) for (const n of Object.keys(s.vars)) inScopes.add(n);
    const userGlobals = new Map<string, unknown>();
    for (const name of free) {
      if (inScopes.has(name)) continue;
      const g = userGlobal(name);
      if (g !== NOT_A_USER_GLOBAL) userGlobals.set(name, g);
    }
    const origin = () => this.currentPickler?.currentPath() ?? 'root';
    const hidden = this.hiddenFunctionNames(fn, capture, free, inScopes, probeable, analysis);
    for (const [n, v] of hidden.loose) userGlobals.set(n, v);
    return this.graph.place(capture, free, userGlobals, { fn, probeable, origin },
      (candidates, scope, fromEnd) => this.sharesScope(fn, probeable, capture, candidates, scope, fromEnd),
      (scope, name, value) => this.substitute(fn, capture, scope, name, value, analysis), hidden.scoped);
  }

  /**
   * What `super` means in an arrow: the [[Prototype]] of its home object, the prototype (or, in static code,
   * the class) whose member's code holds the arrow. The script's text names that class; the arrow's `this`
   * (an instance, or the class itself in static code) leads to it through its prototype chain. An arrow in
   * an object literal's method cannot be placed: that literal is nowhere to be found.
   */
  private superArrowHome(p: Pickler, fn: Function, capture: FunctionCapture, thisValue: unknown): object | null {
    if (superArrowHomes.has(fn)) return superArrowHomes.get(fn)!;
    const info = scriptInfo(capture.scriptId, fn);
    const site = info === undefined ? null : enclosingClassMember(info, functionOffset(fn, info, capture.line, capture.column));
    if (site === null) {
      p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is an arrow function that uses super inside an object literal's ` +
        'method; pikala cannot tell which object it belongs to. Ship the object that holds the method instead');
    }
    for (let o: unknown = thisValue; (typeof o === 'object' && o !== null) || typeof o === 'function';
      o = ObjectGetPrototypeOf(o as object)) {
      const cls = site.isStatic ? o : ObjectGetOwnPropertyDescriptor(o as object, 'constructor')?.value;
      if (typeof cls !== 'function') continue;
      let text: string;
      try { text = FunctionPrototypeToString(cls); } catch { continue; }
      if (text === site.classText && (site.isStatic || ObjectGetOwnPropertyDescriptor(cls, 'prototype')?.value === o)) {
        return ObjectGetPrototypeOf(o as object);
      }
    }
    p.fail('PIKALA_UNSUPPORTED', `${describe(fn)} is an arrow function that uses super, and its this is not an ` +
      'instance of the class that defines it (nor that class); pikala cannot tell which object it belongs to');
  }

  /**
   * Free names that are the name of an enclosing named function expression (`function self() { return () =>
   * self }`): V8's scope view leaves that binding out (its scope shows as "Closure (self)", or not at all when
   * the name is its only variable), so the script's text tells which names they are, and the probe reads their
   * values from a paused frame of `fn`. Each becomes a variable of that function's scope when the view shows
   * it, else of the outermost environment, like a user global. Without the probe, a name that is no global
   * either fails: shipped as is, it would not resolve after load.
   */
  private hiddenFunctionNames(fn: Function, capture: FunctionCapture, free: readonly string[], inScopes: Set<string>,
    probeable: boolean, analysis: SourceAnalysis): { scoped: Map<ScopeInfo, Map<string, unknown>> | null; loose: Map<string, unknown> } {
    const none = { scoped: null, loose: new Map<string, unknown>() };
    const candidates = free.filter((n) => !inScopes.has(n));
    if (candidates.length === 0) return none;
    // Whether or not the script parses, a name no function of it bears and no scope shows is no such name.
    if (!mayNameFunction(fn, candidates) &&
      !candidates.some((n) => capture.scopes.some((s) => s.type === 'Closure' && s.name === n))) return none;
    const info = scriptInfo(capture.scriptId, fn);
    const enclosing = info === undefined ? null
      : enclosingFunctionNames(info, functionOffset(fn, info, capture.line, capture.column));
    const names = candidates.filter((n) => enclosing !== null ? enclosing.has(n)
      : capture.scopes.some((s) => s.type === 'Closure' && s.name === n));
    if (names.length === 0) return none;
    const p: Pickler = this.currentPickler!;
    const prober = probeable ? getProber() : null;
    let values: Record<string, unknown>;
    if (prober === null) {
      const unresolved = names.filter((n) => !(n in globalThis));
      if (unresolved.length === 0) return none;
      const why = !probeable
        ? `it is ${analysis.kind === 'class' ? 'a class' : analysis.isAsync ? 'async' : 'a generator'}, and such a ` +
          'function cannot be paused without running it'
        : 'the probe that reads it works only on the main thread (and is off when PIKALA_NO_PROBE=1)';
      p.fail('PIKALA_CAPTURE', `${describe(fn)} uses '${unresolved[0]}', the name of an enclosing named function ` +
        `expression, which V8 does not show to pikala; pikala cannot read it here: ${why}. Declare that function ` +
        `(function ${unresolved[0]}() {}) or pass it in a variable of another name`);
    }
    try {
      values = prober.probe(fn, { readThis: false, readNewTarget: false, share: null, readNames: names }, []).names ?? {};
    } catch (e) {
      p.fail('PIKALA_CAPTURE', `could not read the names ${names.join(', ')} used by ${describe(fn)}: ${(e as Error).message}`);
    }
    const scoped = new Map<ScopeInfo, Map<string, unknown>>();
    for (const n of names) {
      if (!ObjectHasOwn(values, n)) continue;
      const v = values[n];
      const global = ObjectGetOwnPropertyDescriptor(globalThis, n);
      if (global !== undefined && 'value' in global && global.value === v) continue;
      const scope = capture.scopes.find((s) => s.type === 'Closure' && s.name === n);
      if (scope === undefined) { none.loose.set(n, v); continue; }
      let vars = scoped.get(scope);
      if (vars === undefined) scoped.set(scope, vars = new Map());
      vars.set(n, v);
    }
    return { scoped: scoped.size === 0 ? null : scoped, loose: none.loose };
  }

  private readonly standIns = new Map<object, Record<string, unknown>>();

  /**
   * A notebook's shared namespace (tslab compiles each cell so that names of earlier cells read as
   * `exports.name` on one Proxy for the whole notebook): a function takes only the members it uses, in a
   * plain object that stands in for the namespace (one per dump, so functions that write a member share it).
   */
  private notebookNamespace(ns: object, name: string, analysis: SourceAnalysis): Record<string, unknown> {
    let standIn = this.standIns.get(ns);
    if (standIn === undefined) {
      standIn = {};
      this.standIns.set(ns, standIn);
    }
    const target = proxyTarget(ns) ?? {};
    // The members the function uses, and, transitively, those the notebook's own functions among them use
    // (their fills are written after the stand-in, so it must be complete now).
    const work = [...(memberAccesses(analysis, name) ?? Object.keys(target))];
    while (work.length !== 0) {
      const m = work.pop()!;
      if (ObjectHasOwn(standIn, m)) continue;
      const d = ObjectGetOwnPropertyDescriptor(target, m);
      if (d === undefined || !('value' in d)) continue;
      standIn[m] = d.value;
      if (typeof d.value === 'function') {
        let inner: SourceAnalysis | null = null;
        try { inner = analyzeSource(FunctionPrototypeToString(d.value as Function)); } catch { /* not source code */ }
        if (inner !== null && inner.free.includes(name)) work.push(...(memberAccesses(inner, name) ?? Object.keys(target)));
      }
    }
    return standIn;
  }

  /**
   * What an environment variable ships as: a Module-scope binding imported from a package becomes a module
   * reference (its value would otherwise travel as a copy of the package's code).
   */
  private substitute(fn: Function, capture: FunctionCapture, scope: ScopeInfo, name: string, value: unknown,
    analysis: SourceAnalysis): unknown {
    if (typeof value === 'object' && value !== null && isModuleObject(value)) return this.moduleStandIn(value);
    const notebook = (globalThis as { __tslab__?: { exports?: unknown } }).__tslab__?.exports;
    if (notebook !== undefined && value === notebook && typeof value === 'object' && value !== null) {
      return this.notebookNamespace(value, name, analysis);
    }
    if (scope.type !== 'Module') return value;
    if (value !== null && typeof value !== 'object' && typeof value !== 'function') return value;
    const info = scriptInfo(capture.scriptId, fn);
    if (info === undefined || !info.isModule) return value;
    // Not cached on the script: registerByValue may change the answer between dumps.
    const imports = packageImports(info.ast as never, null);
    const binding = imports.get(name);
    if (binding === undefined) return value;
    // CommonJS packages are known by identity (shortest reference); ES packages by the import itself.
    const known = typeof value === 'object' || typeof value === 'function' ? packageRefOf(value) : undefined;
    if (known !== undefined) return known;
    // A namespace of a built-in arrives as its exports object (the same members; require gives no namespace).
    if (binding.source.startsWith('node:')) return new ModuleRef(binding.source, [], 'namespace', binding.source, '');
    void isModuleNamespaceObject;
    const pkgName = binding.source.startsWith('@') ? binding.source.split('/').slice(0, 2).join('/') : binding.source.split('/')[0]!;
    const { version, via } = this.versionOf(pkgName, capture);
    if (binding.imported === '*') return new ModuleRef(binding.source, [], 'namespace', pkgName, version, true, via);
    return new ModuleRef(binding.source, [binding.imported], 'value', pkgName, version, true, via);
  }

  private readonly moduleStandIns = new Map<object, object>();
  /**
   * What a CommonJS file's `module` becomes for a shipped function: a null-prototype object with the same
   * id, filename, path, loaded flag and exports (by value). The Module object itself stands for a file of
   * this machine and the modules it loaded (children, parent, require.cache): none of that travels.
   */
  private moduleStandIn(m: object): object {
    let standIn = this.moduleStandIns.get(m);
    if (standIn === undefined) {
      standIn = ObjectCreate(null) as object;
      for (const key of ['id', 'filename', 'path', 'loaded', 'exports']) {
        const d = ObjectGetOwnPropertyDescriptor(m, key);
        if (d !== undefined && 'value' in d) (standIn as Record<string, unknown>)[key] = d.value;
      }
      this.moduleStandIns.set(m, standIn);
    }
    return standIn;
  }

  private readonly versions = new Map<string, { version: string; via: string[] }>();
  /**
   * The version of `pkgName` as the importing module resolves it (its own file, else the entry folder), and
   * the packages that copy is nested in.
   */
  private versionOf(pkgName: string, capture: FunctionCapture): { version: string; via: string[] } {
    const url = scriptUrl(capture.scriptId);
    const from = url !== undefined && url.startsWith('file:') ? fileURLToPath(url) : join(defaultBase(), 'pikala-resolver.js');
    const key = `${pkgName}\u0000${dirname(from)}`;
    let v = this.versions.get(key);
    if (v === undefined) {
      v = { version: '', via: [] };
      try { v = packageVersionOf(pkgName, from); } catch { /* unknown */ }
      this.versions.set(key, v);
    }
    return v;
  }

  private readonly prefetched = new Map<Function, FunctionCapture>();

  private capture(p: Pickler, fn: Function, privates = false): FunctionCapture {
    if (!privates) {
      const hit = this.prefetched.get(fn);
      if (hit !== undefined) { this.prefetched.delete(fn); return hit; }
      // Functions side by side in an array or object (a list of closures, an object of methods) are
      // captured together: fewer inspector round trips.
      const siblings = p.siblingFunctions(256).filter((f) => f !== fn && !this.plans.has(f) && !this.classPlans.has(f) &&
        !NATIVE_TEXT.test(FunctionPrototypeToString(f)));
      if (siblings.length !== 0) {
        siblings.push(fn);
        for (const [f, c] of captureFunctions(siblings)) this.prefetched.set(f, c);
        const mine = this.prefetched.get(fn);
        if (mine !== undefined) { this.prefetched.delete(fn); return mine; }
      }
    }
    try {
      return captureFunction(fn, privates);
    } catch (e) {
      if (e instanceof PikalaError) p.fail(e.code, e.message);
      throw e;
    }
  }

  /**
   * The `this` an arrow captured. V8 hides it from the scope view; the probe reads it from a paused frame
   * of the arrow. Async and generator arrows cannot be paused without running, so they cannot be captured.
   */
  private readThis(p: Pickler, fn: Function, analysis: SourceAnalysis, probeable: boolean): { thisValue: unknown; newTarget: unknown } {
    const prober = probeable ? getProber() : null;
    if (prober === null) {
      const why = !probeable
        ? `it is ${analysis.isAsync ? 'async' : 'a generator'}, and such a function cannot be paused without running it`
        : 'the probe that reads it works only on the main thread (and is off when PIKALA_NO_PROBE=1)';
      p.fail('PIKALA_CAPTURE', `${describe(fn)} is an arrow function that uses the this (or new.target) of its ` +
        `enclosing function; pikala cannot read that value here: ${why}. Pass the value as a captured variable ` +
        '(const self = this; ... self.x) instead');
    }
    try {
      const r = prober.probe(fn, { readThis: true, readNewTarget: analysis.usesNewTarget, share: null }, []);
      return { thisValue: r.thisValue, newTarget: r.newTarget };
    } catch (e) {
      p.fail('PIKALA_CAPTURE', `could not read the this of ${describe(fn)}: ${(e as Error).message}`);
    }
  }

  /**
   * Which of `candidates` (scope instances whose key equals that of `fn`'s scope at `fromEnd`) is `fn`'s
   * scope: an index, or -1 for none (a new instance). Sharing only shows after load when some function
   * assigns one of the scope's variables, so scopes whose variables no closure of the script assigns are
   * merged (index 0); otherwise the probe answers in one pause: a sentinel written through `fn` is seen by
   * a member of the instance it shares. Without a usable probe the scopes are merged, and a warning says so.
   */
  private sharesScope(fn: Function, probeable: boolean, capture: FunctionCapture, candidates: Env[], scope: ScopeInfo,
    fromEnd: number): number {
    // A module's scope and the realm's script scope exist once: equal keys are the same instance.
    if (scope.type === 'Module' || scope.type === 'Script') return 0;
    const names = scope.vars ? Object.keys(scope.vars) : [];
    const info = scriptInfo(capture.scriptId, fn);
    const writes = info ? closureWrites(info) : null;
    const mutable = writes === null ? names : names.filter((n) => writes.has(n));
    if (mutable.length === 0) return 0;
    const prober = getProber();
    if (prober === null) return assumeShared(0);
    const variable = mutable[0]!;
    try {
      if (probeable) {
        const others = candidates.map((e) => e.members.find((m) => m.fn !== fn)!);
        const r = prober.probe(fn, { readThis: false, readNewTarget: false,
          share: { fromEnd, variable, candidateFromEnd: others.map((m) => m.fromEnd) } }, others.map((m) => m.fn));
        return r.shares!.indexOf(true);
      }
      // fn cannot be paused: pause a member of each candidate instead, until one of them sees fn share.
      let unknown = false;
      for (let i = 0; i < candidates.length; i++) {
        const probe = candidates[i]!.members.find((m) => m.probeable);
        if (probe === undefined) { unknown = true; continue; }
        const r = prober.probe(probe.fn, { readThis: false, readNewTarget: false,
          share: { fromEnd: probe.fromEnd, variable, candidateFromEnd: [fromEnd] } }, [fn]);
        if (r.shares![0]) return i;
      }
      if (!unknown) return -1;
    } catch { /* fall back to the policy */ }
    return assumeShared(0);
  }

  /** Strict mode is not in a function's text when it comes from the surrounding code. */
  private isStrict(fn: Function, capture: FunctionCapture, analysis: SourceAnalysis): boolean {
    if (analysis.kind === 'class' || analysis.ownStrict) return true;
    if (analysis.kind === 'function' && !analysis.isAsync && !analysis.isGenerator) {
      // Only sloppy plain functions have own `caller` and `arguments`.
      return !ObjectHasOwn(fn, 'caller');
    }
    if (capture.scopes.some((s) => s.type === 'Module')) return true;
    const info = scriptInfo(capture.scriptId, fn);
    if (info === undefined) return true;
    const offset = functionOffset(fn, info, capture.line, capture.column);
    return strictAt(info, offset) ?? true;
  }

  /** Environments that gained variables after their last Fill record. */
  writePendingFill(p: Pickler): boolean {
    const queue = this.graph.pendingFills;
    while (queue.length !== 0) {
      const env = queue.shift()!;
      const id = p.memoId(env);
      if (id === undefined) { env.fillQueued = false; continue; }
      let unfilled = false;
      for (const name of env.needed.keys()) if (!env.filled.has(name)) { unfilled = true; break; }
      if (!unfilled) { env.fillQueued = false; continue; }
      p.writeFillRecord(env, id);
      return true;
    }
    return false;
  }

  /** The code prologue: generated sources and the tables that map records to them. */
  prologue(): Uint8Array | null {
    releaseProber();
    if (this.graph.makerList.length === 0 && this.graph.layouts.length === 0) return null;
    const code = generate(this.graph);
    const w = new ByteWriter(256);
    writePrologue(w, code, this.graph.layouts.length,
      this.graph.makerList.map((m) => ({ mode: m.mode, passArguments: m.passArguments })));
    return w.finish();
  }
}

/** A CommonJS `module` object, or an arguments object holding one (the CommonJS wrapper's). */
function holdsModuleObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || isProxy(v)) return false;
  if (isModuleObject(v)) return true;
  if (!isArgumentsObject(v)) return false;
  const a = v as ArrayLike<unknown>;
  for (let i = 0; i < a.length; i++) {
    const e = ObjectGetOwnPropertyDescriptor(v, String(i))?.value;
    if (typeof e === 'object' && e !== null && !isProxy(e) && isModuleObject(e)) return true;
  }
  return false;
}

let warned = false;
function assumeShared(index: number): number {
  if (!warned) {
    warned = true;
    process.emitWarning('pikala could not tell whether two closures share a scope whose variables they assign ' +
      '(none of them can be paused: async functions, generators and classes cannot, and nothing can off the ' +
      'main thread); it assumed they do. See README, Limitations.',
      { code: 'PIKALA_SHARED_SCOPE_ASSUMED' });
  }
  return index;
}

interface CtorFacts {
  path: string | undefined;
  moduleRef: ModuleRef | undefined;
  internal: boolean;
  sourceClass: boolean;
  privateNames: boolean;
}

/** Global names of Node classes whose instances hold live resources. */
const NODE_GLOBAL_CLASSES = new Set(['AbortController', 'AbortSignal', 'MessageChannel', 'MessagePort', 'BroadcastChannel',
  'EventTarget', 'Event', 'MessageEvent', 'Blob', 'File']);

const EMPTY_ANALYSIS = {
  kind: 'arrow', isAsync: false, isGenerator: false, free: [], writes: new Set(), usesThis: false, usesArguments: false,
  usesSuper: false, usesNewTarget: false, usesDirectEval: false, usesWith: false, ownStrict: false,
  ast: { type: 'Program', body: [], sourceType: 'script' },
} as unknown as SourceAnalysis;

function makerMode(analysis: SourceAnalysis): MakerMode {
  switch (analysis.kind) {
    case 'arrow':
      return analysis.usesSuper ? 'superArrow' : analysis.usesThis || analysis.usesNewTarget ? 'this' : 'plain';
    case 'method': case 'get': case 'set':
      return analysis.kind;
    default:
      return 'plain';
  }
}

const NOT_A_USER_GLOBAL = Symbol('not a user global');
const NATIVE_TEXT = /\{\s*\[native code\]\s*\}\s*$/;

/** The value of a global the receiver does not have by itself (REPL and notebook globals), or a marker. */
function userGlobal(name: string): unknown {
  if (ALWAYS_FREE.has(name)) return NOT_A_USER_GLOBAL;
  const d = ObjectGetOwnPropertyDescriptor(globalThis, name);
  if (d === undefined) return NOT_A_USER_GLOBAL; // absent or inherited: the receiver resolves it the same way
  if (!('value' in d)) {
    // The REPL defines the built-in modules as lazy globals (path, fs, os): the receiver may have none.
    if (builtinModules.includes(name)) {
      const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
      if (get !== undefined) return get(`node:${name}`);
    }
    return NOT_A_USER_GLOBAL; // a lazy built-in global of Node (fetch, crypto...)
  }
  const v = d.value as unknown;
  if (v !== null && (typeof v === 'object' || typeof v === 'function')) {
    const path = knownBuiltinPath(v as object);
    if (path === name) return NOT_A_USER_GLOBAL;
  }
  return v;
}

function className(fn: Function): string {
  const d = ObjectGetOwnPropertyDescriptor(fn, 'name');
  return d && typeof d.value === 'string' && d.value ? d.value : 'an anonymous class';
}

function describe(fn: Function): string {
  if (isProxy(fn)) return 'a function Proxy';
  let name = '';
  try { name = (ObjectGetOwnPropertyDescriptor(fn, 'name')?.value as string) ?? ''; } catch { /* ignore */ }
  return name ? `function '${name}'` : 'an anonymous function';
}

export type { FunctionCapture };

// A planner is made per dump that meets code or a record that could be a package member: see util/keep-alive.ts.
keepAlive(new FunctionPlanner());
