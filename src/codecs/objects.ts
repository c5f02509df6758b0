/**
 * Ordinary objects that are not plain records (non-default attributes, accessors, symbol keys, custom or
 * null prototypes, integrity levels) and `arguments` objects. Plain records take the shape fast path in the
 * pickler core instead.
 */
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import { ObjectCreate, ObjectPrototype, isArgumentsObject } from '../util/primordials.js';
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
    // Elements travel as properties, so their exact attributes (and any deleted ones) are kept.
    writePlainFill(p, o, (k) => k === 'callee' || k === Symbol.iterator);
  },
  create() { return makeArguments(); },
  readFill(u, o) {
    // `length` exists from creation; redefining it in place keeps the original key order (removing it first
    // would move it after `callee`). It goes only if the original had deleted it.
    readPlainFill(u, o, (s) => {
      s.content = Content.None;
      s.finish = (a) => { if (!s.propKeys.includes('length')) delete (a as { length?: number }).length; };
    });
  },
};

export { isArgumentsObject };
