/**
 * Ordinary objects that are not plain records (non-default attributes, accessors, symbol keys, custom or
 * null prototypes, integrity levels) and `arguments` objects. Plain records take the shape fast path in the
 * pickler core instead.
 */
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import { ObjectCreate, ObjectGetOwnPropertyDescriptor, ObjectPrototype, ObjectSetPrototypeOf, isArgumentsObject } from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { corrupt } from '../api/errors.js';

/** Writes integrity, the property list, and queues the property values. Shared by most codecs. */
export function writePlainFill(p: Pickler, o: object, skip: ((k: PropertyKey) => boolean) | null = null): void {
  p.w.u8(integrityOf(o));
  p.w.varint(0); // no content values
  const values: unknown[] = [];
  const keys: PropertyKey[] = [];
  p.writeProps(o, values, skip, keys);
  p.pushList(values, new FillLabels(0, () => '', keys, o));
}

/** Reads what writePlainFill wrote. */
export function readPlainFill(u: Unpickler, o: object, setup?: (s: FillState) => void): void {
  const s = new FillState(o);
  s.integrity = u.readIntegrity();
  if (u.r.varint() !== 0) throw corrupt('unexpected content values');
  setup?.(s);
  u.readPropsAndPush(s);
}

export const OrdinaryCodec: ObjectCodec = {
  kind: Kind.Ordinary,
  name: 'object',
  defaultProto: () => ObjectPrototype,
  writeCreate() { /* nothing: the prototype is all it needs */ },
  writeFill(p, o) { writePlainFill(p, o); },
  create(_u, proto) { return proto === undefined ? {} : ObjectCreate(proto); },
  readFill(u, o) { readPlainFill(u, o); },
};

// Module code is strict, so this returns an unmapped arguments object.
function makeArguments(): IArguments {
  return arguments; // eslint-disable-line prefer-rest-params
}

/** `arguments` objects come back as unmapped (strict-mode) arguments objects with the same elements. */
export const ArgumentsCodec: ObjectCodec = {
  kind: Kind.Arguments,
  name: 'arguments',
  defaultProto: () => ObjectPrototype,
  writeCreate() { /* elements and length travel as properties */ },
  writeFill(p, o) {
    warnIfMapped(o);
    // Elements travel as properties, so their exact attributes (and any deleted ones) are kept.
    writePlainFill(p, o, (k) => k === 'callee' || k === Symbol.iterator);
  },
  create(_u, proto) {
    const a = makeArguments();
    if (proto !== undefined) ObjectSetPrototypeOf(a, proto);
    return a;
  },
  readFill(u, o) {
    // `length` exists from creation; redefining it in place keeps the original key order (removing it first
    // would move it after `callee`). It goes only if the original had deleted it.
    readPlainFill(u, o, (s) => {
      s.content = Content.None;
      s.finish = (a) => { if (!s.propKeys.includes('length')) delete (a as { length?: number }).length; };
    });
  },
};

let warnedMapped = false;
/**
 * A sloppy function's arguments object is mapped: `arguments[0]` and the first parameter are one binding.
 * That link lives inside V8 and cannot be rebuilt, so after load assigning one no longer changes the other.
 * Said once per process, for functions that have parameters (a strict function's `callee` is an accessor).
 */
function warnIfMapped(o: object): void {
  if (warnedMapped) return;
  const callee = ObjectGetOwnPropertyDescriptor(o, 'callee');
  if (callee === undefined || !('value' in callee) || typeof callee.value !== 'function') return;
  const params = ObjectGetOwnPropertyDescriptor(callee.value, 'length')?.value;
  if (typeof params !== 'number' || params === 0) return;
  warnedMapped = true;
  process.emitWarning('pikala ships the arguments object of a sloppy-mode function with parameters as a plain ' +
    'arguments object: after load, assigning a parameter no longer changes arguments[i] (and the reverse). ' +
    "Add 'use strict' or copy the arguments ([...arguments]) if the program relies on that link. See README, Limitations.",
    { code: 'PIKALA_ARGUMENTS_UNMAPPED' });
}

export { isArgumentsObject };
