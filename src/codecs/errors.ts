/**
 * Errors: the native error brand (so `util.types.isNativeError` and stack capture behave), the prototype
 * (built-in subclass by kind, or any other prototype), and every own property with its attributes: message,
 * stack (the original text), cause, AggregateError's errors, and extra properties such as `code`.
 * Loading constructs the native error without running any user constructor.
 */
import { Kind, ERROR_NAMES } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import type { Unpickler } from '../pickler/unpickler.js';
import { ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, ReflectConstruct, isProxy } from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { readPlainFill, writePlainFill } from './objects.js';
import { corrupt } from '../api/errors.js';

const CTORS: readonly ErrorConstructor[] = ERROR_NAMES.map((n) => (globalThis as unknown as Record<string, ErrorConstructor>)[n]!);
const PROTOS: readonly object[] = CTORS.map((c) => c.prototype);

/** The nearest built-in error prototype on `o`'s chain (Error if none). */
export function errorKindOf(o: object): number {
  for (let p = ObjectGetPrototypeOf(o); p !== null; p = ObjectGetPrototypeOf(p)) {
    const i = PROTOS.indexOf(p);
    if (i >= 0) return i;
  }
  return 0;
}

const isStack = (k: PropertyKey) => k === 'stack';

/**
 * Whether reading `o.stack` could run the program's code: V8 formats a stack when it is first read, and the
 * formatting reads `name` and `message`, so an accessor for either (own or inherited) would be called. Such
 * an error travels without its stack (dumps never calls an accessor).
 */
function formattingRunsCode(o: object): boolean {
  for (const key of ['name', 'message']) {
    for (let p: object | null = o; p !== null; p = ObjectGetPrototypeOf(p)) {
      if (isProxy(p)) return true;
      const d = ObjectGetOwnPropertyDescriptor(p, key);
      if (d === undefined) continue;
      if (!('value' in d)) return true;
      break;
    }
  }
  return false;
}

export const ErrorCodec: ObjectCodec = {
  kind: Kind.Error,
  name: 'Error',
  defaultProto: (o) => PROTOS[o === null ? 0 : errorKindOf(o)]!,
  writeCreate(p: Pickler, o: object) {
    p.w.u8(errorKindOf(o));
  },
  writeFill(p: Pickler, o: object) {
    writePlainFill(p, o, formattingRunsCode(o) ? isStack : null);
  },
  create(u: Unpickler, proto) {
    const kind = u.r.u8();
    const ctor = CTORS[kind];
    if (ctor === undefined) throw corrupt(`unknown error kind ${kind}`);
    const args = kind === 7 ? [[]] : [];
    const e = proto === undefined ? ReflectConstruct(ctor, args) : ReflectConstruct(ctor, args, u.newTargetFor(proto));
    return e;
  },
  readFill(u: Unpickler, o: object) {
    // The constructor added `stack` (and `errors`); the payload's own properties replace them exactly.
    readPlainFill(u, o, (s) => { s.remove = ['stack', 'errors']; });
  },
};
