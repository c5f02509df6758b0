/**
 * Who a prototype object belongs to. Reads own data descriptors only and never looks into a Proxy, so no user
 * code runs.
 */
import { ObjectGetOwnPropertyDescriptor, isProxy } from './primordials.js';

/**
 * The function whose `prototype` is `holder`, found through `holder`'s own `constructor` (a class's or a
 * function's prototype object), or undefined. A module namespace throws for a binding not yet initialized
 * (`export let constructor`): that is no owner either.
 */
export function prototypeOwner(holder: object): Function | undefined {
  if (isProxy(holder)) return undefined;
  let d: PropertyDescriptor | undefined;
  try { d = ObjectGetOwnPropertyDescriptor(holder, 'constructor'); } catch { return undefined; }
  const c = d === undefined ? undefined : d.value as unknown;
  if (typeof c !== 'function' || isProxy(c)) return undefined;
  return ObjectGetOwnPropertyDescriptor(c, 'prototype')?.value === holder ? c : undefined;
}
