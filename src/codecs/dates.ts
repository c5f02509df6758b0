/**
 * Dates (invalid ones included), regular expressions (all flags; `lastIndex` is an own property and travels
 * with the others), URL and URLSearchParams.
 */
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import type { Unpickler } from '../pickler/unpickler.js';
import {
  DateCtor, DatePrototypeGetTime, ObjectGetOwnPropertyDescriptor, ObjectSetPrototypeOf, ReflectConstruct,
  RegExpCtor, RegExpPrototypeGetFlags, RegExpPrototypeGetSource, URLCtor, URLSearchParamsCtor, URLSearchParamsPrototypeAppend, StringPrototypeIndexOf, StringPrototypeSlice,
  StringPrototypeReplaceAll, DecodeURIComponent,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';
import { readPlainFill, writePlainFill } from './objects.js';

export const DateCodec: ObjectCodec = {
  kind: Kind.Date,
  name: 'Date',
  defaultProto: () => Date.prototype,
  writeCreate(p: Pickler, o: object) {
    const t = DatePrototypeGetTime(o);
    if (t !== t) { p.w.u8(0); return; }
    p.w.u8(1);
    p.w.f64(t);
  },
  writeFill(p, o) { writePlainFill(p, o); },
  create(u: Unpickler, proto) {
    const valid = u.r.u8();
    if (valid > 1) throw corrupt('bad date flag');
    const t = valid ? u.r.f64() : NaN;
    return proto === undefined ? new DateCtor(t) : ReflectConstruct(DateCtor, [t], u.newTargetFor(proto));
  },
  readFill(u, o) { readPlainFill(u, o); },
};

export const RegExpCodec: ObjectCodec = {
  kind: Kind.RegExp,
  name: 'RegExp',
  defaultProto: () => RegExp.prototype,
  writeCreate(p: Pickler, o: object) {
    p.writeString(RegExpPrototypeGetSource(o));
    p.writeString(RegExpPrototypeGetFlags(o));
  },
  writeFill(p, o) { writePlainFill(p, o); },
  create(u: Unpickler, proto) {
    const source = u.readString();
    const flags = u.readString();
    if (!validFlags(flags)) throw corrupt(`bad regexp flags ${JSON.stringify(flags)}`);
    try {
      u.charge(source.length);
      return proto === undefined ? new RegExpCtor(source, flags) : ReflectConstruct(RegExpCtor, [source, flags], u.newTargetFor(proto));
    } catch (e) {
      throw corrupt(`bad regular expression: ${(e as Error).message}`);
    }
  },
  readFill(u, o) { readPlainFill(u, o); },
};

const urlHref = ObjectGetOwnPropertyDescriptor(URL.prototype, 'href')!.get!;
export function isURL(o: object): boolean {
  try { urlHref.call(o); return true; } catch { return false; }
}
const searchParamsToString = URLSearchParams.prototype.toString;
export function isURLSearchParams(o: object): boolean {
  try { searchParamsToString.call(o); return true; } catch { return false; }
}

export const URLCodec: ObjectCodec = {
  kind: Kind.URL,
  name: 'URL',
  defaultProto: () => URL.prototype,
  writeCreate(p: Pickler, o: object) { p.writeString(urlHref.call(o) as string); },
  writeFill(p, o) { writePlainFill(p, o); },
  create(u: Unpickler, proto) {
    const href = u.readString();
    let url: URL;
    u.charge(href.length);
    try { url = new URLCtor(href); } catch { throw corrupt(`bad URL ${JSON.stringify(href)}`); }
    if (proto !== undefined) ObjectSetPrototypeOf(url, proto);
    return url;
  },
  readFill(u, o) { readPlainFill(u, o); },
};

export const URLSearchParamsCodec: ObjectCodec = {
  kind: Kind.URLSearchParams,
  name: 'URLSearchParams',
  defaultProto: () => URLSearchParams.prototype,
  writeCreate(p: Pickler, o: object) { p.writeString(searchParamsToString.call(o)); },
  writeFill(p, o) { writePlainFill(p, o); },
  create(u: Unpickler, proto) {
    const query = u.readString();
    u.charge(query.length);
    const params = new URLSearchParamsCtor();
    // Parsed here, not by the constructor: Node's parser calls the realm's Array.prototype.push.
    parseQuery(query, (name, value) => URLSearchParamsPrototypeAppend(params, name, value));
    if (proto !== undefined) ObjectSetPrototypeOf(params, proto);
    return params;
  },
  readFill(u, o) { readPlainFill(u, o); },
};

/**
 * The application/x-www-form-urlencoded parser, for the text URLSearchParams.prototype.toString writes: `&`
 * separates pairs, the first `=` splits one, `+` is a space, the rest is percent-encoded UTF-8. Text that
 * serializer cannot produce (a malformed escape) is corrupt.
 */
function parseQuery(query: string, add: (name: string, value: string) => void): void {
  let start = 0;
  while (start < query.length) {
    let end = StringPrototypeIndexOf(query, '&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      const part = StringPrototypeSlice(query, start, end);
      const eq = StringPrototypeIndexOf(part, '=');
      add(decodeFormPart(eq < 0 ? part : StringPrototypeSlice(part, 0, eq)), decodeFormPart(eq < 0 ? '' : StringPrototypeSlice(part, eq + 1)));
    }
    start = end + 1;
  }
}

function decodeFormPart(s: string): string {
  try {
    return DecodeURIComponent(StringPrototypeReplaceAll(s, '+', ' '));
  } catch {
    throw corrupt('a URLSearchParams record holds a malformed escape');
  }
}

function validFlags(flags: string): boolean {
  for (let i = 0; i < flags.length; i++) {
    if ('dgimsuyv'.indexOf(flags[i]!) < 0 || flags.indexOf(flags[i]!) !== i) return false;
  }
  return true;
}
