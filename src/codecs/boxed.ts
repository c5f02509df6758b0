/** Boxed primitives: `new Number(1)`, `new String('x')`, `Object(true)`, `Object(1n)`, `Object(Symbol())`. */
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import type { Unpickler } from '../pickler/unpickler.js';
import {
  BigIntPrototypeValueOf, BooleanPrototypeValueOf, NumberPrototypeValueOf, ObjectFn, ObjectSetPrototypeOf,
  StringPrototypeValueOf, SymbolPrototypeValueOf,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { readPlainFill, writePlainFill } from './objects.js';

function boxed(kind: Kind, name: string, proto: object, valueOf: (o: unknown) => unknown,
  check: (v: unknown) => boolean, skip: ((o: object) => (k: PropertyKey) => boolean) | null = null): ObjectCodec {
  return {
    kind,
    name,
    defaultProto: () => proto,
    writeCreate(p: Pickler, o: object) { p.visit(valueOf(o)); },
    writeFill(p, o) { writePlainFill(p, o, skip ? skip(o) : null); },
    create(u: Unpickler, protoArg) {
      const v = u.readOne();
      if (!check(v)) throw corrupt(`bad ${name} value`);
      const o = ObjectFn(v) as object;
      if (protoArg !== undefined) ObjectSetPrototypeOf(o, protoArg);
      return o;
    },
    readFill(u, o) { readPlainFill(u, o); },
  };
}

export const BoxedNumberCodec = boxed(Kind.BoxedNumber, 'Number', Number.prototype, NumberPrototypeValueOf, (v) => typeof v === 'number');
export const BoxedBooleanCodec = boxed(Kind.BoxedBoolean, 'Boolean', Boolean.prototype, BooleanPrototypeValueOf, (v) => typeof v === 'boolean');
export const BoxedBigIntCodec = boxed(Kind.BoxedBigInt, 'BigInt', BigInt.prototype, BigIntPrototypeValueOf, (v) => typeof v === 'bigint');
export const BoxedSymbolCodec = boxed(Kind.BoxedSymbol, 'Symbol', Symbol.prototype, SymbolPrototypeValueOf, (v) => typeof v === 'symbol');
export const BoxedStringCodec = boxed(Kind.BoxedString, 'String', String.prototype, StringPrototypeValueOf,
  (v) => typeof v === 'string',
  // A String object's character indices and length are part of the string, not properties.
  (o) => {
    const n = StringPrototypeValueOf(o).length;
    return (k) => k === 'length' || typeof k === 'string' && /^(?:0|[1-9]\d*)$/.test(k) && +k < n;
  });
