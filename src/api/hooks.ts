/**
 * Wires the code layer (functions, classes, modules, built-ins) into the data walkers. The walkers know
 * nothing about code; they call these hooks when they meet it.
 */
import type { Pickler, PicklerHooks } from '../pickler/pickler.js';
import type { UnpicklerHooks } from '../pickler/unpickler.js';
import type { LoadOptions } from './options.js';
import { builtinMiss, builtinPath, isBuiltinModuleObject, knownBuiltinPath, resolveBuiltin } from '../code/registry.js';
import { FunctionPlanner } from '../code/functions.js';
import { isEnv } from '../code/closures.js';
import { ScopeCodec, boundCodec, functionCodec } from '../codecs/functions.js';
import { classCodec, instanceCodec, memberCodec, prototypeCodec } from '../codecs/classes.js';
import { moduleRefCodec } from '../codecs/modules.js';
import { CODECS } from '../codecs/dispatch.js';
import { writePendingWeakEntries } from '../codecs/weak.js';
import { Kind } from '../format/tags.js';
import { readPrologue } from '../code/rebuild.js';
import type { ObjectCodec } from '../codecs/codec.js';
import { ObjectGetPrototypeOf } from '../util/primordials.js';

// The decoder's codecs for code kinds (their encoder halves need a planner and are made per dump).
const decodePlans = {
  planOf(): never { throw new Error('decode-only codec'); },
  boundOf(): never { throw new Error('decode-only codec'); },
};
CODECS[Kind.Function] = functionCodec(decodePlans) as ObjectCodec;
CODECS[Kind.Bound] = boundCodec(decodePlans) as ObjectCodec;
CODECS[Kind.Scope] = ScopeCodec as unknown as ObjectCodec;
const decodeClassPlans = {
  classPlanOf(): never { throw new Error('decode-only codec'); },
  instancePlanOf(): never { throw new Error('decode-only codec'); },
  classPrototypes: new Map<object, Function>(),
};
CODECS[Kind.Class] = classCodec(decodeClassPlans) as ObjectCodec;
CODECS[Kind.ClassPrototype] = prototypeCodec(decodeClassPlans) as ObjectCodec;
CODECS[Kind.Instance] = instanceCodec(decodeClassPlans) as ObjectCodec;
CODECS[Kind.ClassMember] = memberCodec({ memberOf(): never { throw new Error('decode-only codec'); } }) as ObjectCodec;
CODECS[Kind.ModuleRef] = moduleRefCodec({ moduleRefOf(): never { throw new Error('decode-only codec'); } });

/**
 * The code layer's hooks, one object for the process: per-dump state (the function planner) lives on the
 * Pickler (`codeState`), made on first need. Hooks made per dump were closures that optimised code inlined
 * and embedded; every major GC then collected them and threw that code away.
 */
function plannerOf(p: Pickler): FunctionPlanner {
  return (p.codeState ??= new FunctionPlanner()) as FunctionPlanner;
}

// Scope environments are pikala's own objects, made during the dump: never built-ins. Asking the registry
// would make it walk every built-in just to miss.
const builtinPathHook = (o: object): string | undefined => (isEnv(o) ? builtinMiss() : builtinPath(o));
const knownBuiltinPathHook = (o: object): string | undefined => (isEnv(o) ? undefined : knownBuiltinPath(o));

const PICKLER_HOOKS: PicklerHooks = {
  builtinPath: builtinPathHook,
  knownBuiltinPath: knownBuiltinPathHook,
  moduleObjectPath: (o) => (isBuiltinModuleObject(o) ? builtinPath(o) : undefined),
  moduleReference(p, o) {
    const planner = plannerOf(p);
    if (!planner.moduleRefFor(o)) return false;
    p.writeRecord(o, planner.moduleRefCodec, null, false);
    return true;
  },
  visitFunction(p, fn) {
    const path = builtinPath(fn);
    if (path !== undefined) { p.writeBuiltin(fn, path); return; }
    const planner = plannerOf(p);
    if (planner.moduleRefFor(fn)) {
      p.ensureDeps(fn, planner.moduleRefCodec, null);
      p.writeRecord(fn, planner.moduleRefCodec, null, false);
      return;
    }
    const codec = planner.plan(p, fn, false) as ObjectCodec<object>;
    const proto = ObjectGetPrototypeOf(fn);
    p.ensureDeps(fn, codec, proto);
    p.writeRecord(fn, codec, proto, false);
  },
  functionCodec(p, fn) {
    const planner = plannerOf(p);
    if (planner.moduleRefFor(fn)) return planner.moduleRefCodec;
    return planner.plan(p, fn, true) as ObjectCodec<object>;
  },
  internalCodec(o) {
    return isEnv(o) ? (ScopeCodec as unknown as ObjectCodec<object>) : undefined;
  },
  specialCodec(p, o) {
    if (isEnv(o)) return ScopeCodec as unknown as ObjectCodec<object>;
    return plannerOf(p).specialCodec(p, o);
  },
  instanceCodec(p, o, proto, brand) {
    return plannerOf(p).instanceCodecFor(p, o, proto, brand);
  },
  writePendingFill(p) {
    const planner = p.codeState as FunctionPlanner | null;
    return (planner !== null && planner.writePendingFill(p)) || writePendingWeakEntries(p);
  },
  prologue(p) {
    const planner = p.codeState as FunctionPlanner | null;
    return planner !== null ? planner.prologue() : null;
  },
};

export function picklerHooks(): PicklerHooks {
  return PICKLER_HOOKS;
}

const UNPICKLER_HOOKS: UnpicklerHooks = { resolveBuiltin, readPrologue };

export function unpicklerHooks(_options: LoadOptions | undefined): UnpicklerHooks {
  return UNPICKLER_HOOKS;
}
