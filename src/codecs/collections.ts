/**
 * Map and Set. Entries are content values of the fill, so keys and values that are objects keep their identity
 * with the rest of the graph (and may point back to the collection itself).
 */
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, mapEntryLabel, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import {
  MapCtor, MapIteratorNext, MapPrototypeEntries, ReflectConstruct, SetCtor, SetIteratorNext, SetPrototypeValues,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';

export const MapCodec: ObjectCodec = {
  kind: Kind.Map,
  name: 'Map',
  defaultProto: () => Map.prototype,
  writeCreate() { /* entries come with the fill */ },
  writeFill(p: Pickler, m: object) {
    const values: unknown[] = [];
    const it = MapPrototypeEntries(m);
    for (let e = MapIteratorNext(it); !e.done; e = MapIteratorNext(it)) values.push(e.value[0], e.value[1]);
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
    const s = new FillState(o);
    s.integrity = u.readIntegrity();
    s.content = Content.MapPairs;
    s.nContents = u.r.count(2) * 2;
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
    const it = SetPrototypeValues(set);
    for (let e = SetIteratorNext(it); !e.done; e = SetIteratorNext(it)) values.push(e.value);
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
    const s = new FillState(o);
    s.integrity = u.readIntegrity();
    s.content = Content.SetValues;
    s.nContents = u.r.count(1);
    u.readPropsAndPush(s);
  },
};
