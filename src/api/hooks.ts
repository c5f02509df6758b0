/**
 * Wires the code layer (functions, classes, modules, built-ins) into the data walkers. The walkers know
 * nothing about code; they call these hooks when they meet it.
 */
import type { PicklerHooks } from '../pickler/pickler.js';
import type { UnpicklerHooks } from '../pickler/unpickler.js';
import type { LoadOptions } from './options.js';
import { builtinPath, knownBuiltinPath, resolveBuiltin } from '../code/registry.js';

export function picklerHooks(): PicklerHooks {
  return { builtinPath, knownBuiltinPath };
}

export function unpicklerHooks(_options: LoadOptions | undefined): UnpicklerHooks {
  return { resolveBuiltin };
}
