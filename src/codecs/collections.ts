/**
 * Map and Set. Entries are content values of the fill, so keys and values that are objects keep their identity
 * with the rest of the graph (and may point back to the collection itself).
 */
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, mapEntryLabel, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import { MapCtor, ReflectConstruct, SetCtor } from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';

// Captured when pikala loads, like the primordials.
const MapPrototypeForEach = Function.prototype.call.bind(Map.prototype.forEach) as
  (m: object, f: (v: unknown, k: unknown) => void) => void;
const SetPrototypeForEach = Function.prototype.call.bind(Set.prototype.forEach) as
  (s: object, f: (v: unknown) => void) => void;

export const MapCodec: ObjectCodec = {
  kind: Kind.Map,
  name: 'Map',
  defaultProto: () => Map.prototype,
  writeCreate() { /* entries come with the fill */ },
  writeFill(p: Pickler, m: object) {
    // forEach hands each key and value over without an iterator result and an entry array per entry.
    const values: unknown[] = [];
    MapPrototypeForEach(m, (v: unknown, k: unknown) => { values[values.length] = k; values[values.length] = v; });
    const nContents = values.length;
    p.w.u8(integrityOf(m));
    p.w.varint(nContents >> 1);
    const keys: PropertyKey[] = [];
    p.writeProps(m, values, null, keys);
    p.pushList(values, new FillLabels(nContents, mapEntryLabel(values), keys, m));
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
    const values: unknown[] = [];
    SetPrototypeForEach(set, (v: unknown) => { values[values.length] = v; });
    const nContents = values.length;
    p.w.u8(integrityOf(set));
    p.w.varint(nContents);
    const keys: PropertyKey[] = [];
    p.writeProps(set, values, null, keys);
    p.pushList(values, new FillLabels(nContents, (i) => `.<value #${i}>`, keys, set));
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
