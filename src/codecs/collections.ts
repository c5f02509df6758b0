/**
 * Map and Set. Entries are content values of the fill, so keys and values that are objects keep their identity
 * with the rest of the graph (and may point back to the collection itself).
 */
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, mapEntryLabel, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import { MapCtor, MapPrototypeGetSize, ReflectConstruct, SetCtor, SetPrototypeGetSize } from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';

// Captured when pikala loads, like the primordials.
const MapPrototypeForEach = Function.prototype.call.bind(Map.prototype.forEach) as
  (m: object, f: (v: unknown, k: unknown) => void) => void;
const SetPrototypeForEach = Function.prototype.call.bind(Set.prototype.forEach) as
  (s: object, f: (v: unknown) => void) => void;

/**
 * Queues the entries not written in place (`rest`, from index `start`) followed by the property values, with
 * labels for error paths.
 */
function queueRest(p: Pickler, rest: unknown[] | null, start: number, props: unknown[], keys: PropertyKey[],
  o: object, contentLabel: (entries: unknown[]) => (i: number) => string): void {
  const entries = rest ?? [];
  const nContents = entries.length;
  if (nContents === 0 && props.length === 0) return;
  for (let i = 0; i < props.length; i++) entries[entries.length] = props[i];
  p.pushList(entries, new FillLabels(nContents, contentLabel(entries), keys, o), start);
}

export const MapCodec: ObjectCodec = {
  kind: Kind.Map,
  name: 'Map',
  defaultProto: () => Map.prototype,
  writeCreate() { /* entries come with the fill */ },
  writeFill(p: Pickler, m: object) {
    // The fill is: integrity, entry count, property list, then the entries, then the property values. The
    // entries are written here, straight from forEach (no iterator result, no entry array), for as long as
    // they are scalars; from the first object (or symbol, bigint, function) on, the rest is queued with the
    // property values and written by the pickler's frames. (Whoever calls this fill queues its own values
    // under these: an Instance record's private values come after the entries.)
    p.w.u8(integrityOf(m));
    p.w.varint(MapPrototypeGetSize(m));
    const props: unknown[] = [];
    const keys: PropertyKey[] = [];
    p.writeProps(m, props, null, keys);
    let rest: unknown[] | null = null;
    let start = 0;
    MapPrototypeForEach(m, (v: unknown, k: unknown) => {
      if (rest === null) {
        if (!p.writeScalar(k)) { rest = [k, v]; return; }
        if (p.writeScalar(v)) return;
        rest = [k, v];
        start = 1;
        return;
      }
      rest[rest.length] = k;
      rest[rest.length] = v;
    });
    queueRest(p, rest, start, props, keys, m, mapEntryLabel);
  },
  create(u: Unpickler, proto) {
    return proto === undefined ? new MapCtor() : ReflectConstruct(MapCtor, [], u.newTargetFor(proto));
  },
  readFill(u: Unpickler, o: object) {
    const integrity = u.readIntegrity();
    const n = u.r.count(2) * 2;
    if (u.pushEntries(o, integrity, n, true)) return;
    const s = new FillState(o);
    s.integrity = integrity;
    s.content = Content.MapPairs;
    s.nContents = n;
    u.readPropsAndPush(s);
  },
};

export const SetCodec: ObjectCodec = {
  kind: Kind.Set,
  name: 'Set',
  defaultProto: () => Set.prototype,
  writeCreate() { /* values come with the fill */ },
  writeFill(p: Pickler, set: object) {
    // Like Map: scalar values written straight from forEach, the rest queued.
    p.w.u8(integrityOf(set));
    p.w.varint(SetPrototypeGetSize(set));
    const props: unknown[] = [];
    const keys: PropertyKey[] = [];
    p.writeProps(set, props, null, keys);
    let rest: unknown[] | null = null;
    let written = 0;
    SetPrototypeForEach(set, (v: unknown) => {
      if (rest === null) {
        if (p.writeScalar(v)) { written++; return; }
        rest = [];
      }
      rest[rest.length] = v;
    });
    queueRest(p, rest, 0, props, keys, set, () => (i) => `.<value #${written + i}>`);
  },
  create(u: Unpickler, proto) {
    return proto === undefined ? new SetCtor() : ReflectConstruct(SetCtor, [], u.newTargetFor(proto));
  },
  readFill(u: Unpickler, o: object) {
    const integrity = u.readIntegrity();
    const n = u.r.count(1);
    if (u.pushEntries(o, integrity, n, false)) return;
    const s = new FillState(o);
    s.integrity = integrity;
    s.content = Content.SetValues;
    s.nContents = n;
    u.readPropsAndPush(s);
  },
};
