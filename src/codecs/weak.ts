/**
 * WeakMap and WeakSet. A weak collection is a side table: its entries matter only for keys that are still
 * around. So a payload carries exactly the entries whose keys are in the payload: the record itself carries
 * the collection's own properties, and after the root, Fill records add the entries whose keys the walk has
 * written, found by asking the collection about each written value (no enumeration, which JavaScript does
 * not offer; writing an entry's value may bring in more keys, so this repeats until nothing is added).
 * Entries keyed by objects outside the payload stay behind, as they could never be looked up on the receiver.
 *
 * This is how TypeScript (target below ES2022) and Babel keep `#private` fields: one WeakMap per field next
 * to the class. For such a table to keep working when a class is reused across payloads (see classes), a
 * collection keeps its identity per process: each record names its origin, and a receiver that already has
 * that collection (loaded earlier, or the producer's own) adds the entries to it. Data-only loads
 * (allowCode: false) never touch an existing collection: each load gets new ones.
 *
 *   create: origin id (string)
 *   fill:   u8 1, integrity, properties          (with the record)
 *           u8 0, varint n, (key [value])*n      (Fill records after the root; a WeakSet has no values)
 */
import { randomBytes } from 'node:crypto';
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import { FillLabels, integrityOf, type Pickler } from '../pickler/pickler.js';
import { FillState, type Unpickler } from '../pickler/unpickler.js';
import {
  ReflectConstruct, WeakMapCtor, WeakMapPrototypeGet, WeakMapPrototypeHas, WeakMapPrototypeSet, WeakSetCtor,
  WeakSetPrototypeAdd, WeakSetPrototypeHas, isWeakMap,
  SafeMap,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';

// ------------------------------------------------------------------------------------ identity per process

const PROCESS_ID = randomBytes(6).toString('base64url');
let counter = 0;
/** Collections this process dumped or loaded, by origin id (weakly: an unused table may go away). */
const byOrigin = new SafeMap<string, WeakRef<object>>();
const originOf = new WeakMap<object, string>();
const forget = new FinalizationRegistry<string>((id) => {
  if (byOrigin.get(id)?.deref() === undefined) byOrigin.delete(id);
});

function remember(id: string, o: object): void {
  byOrigin.set(id, new WeakRef(o));
  originOf.set(o, id);
  forget.register(o, id);
}

function originIdOf(o: object): string {
  let id = originOf.get(o);
  if (id === undefined) {
    id = `${PROCESS_ID}.${(counter++).toString(36)}`;
    remember(id, o);
  }
  return id;
}

// ------------------------------------------------------------------------------------ pending entries

interface Pending {
  o: object;
  isMap: boolean;
  /** Where the walk met the collection (entries are written after the root; errors name this path). */
  path: string;
  /** How many memoized values were already looked up in this collection. */
  scanned: number;
}

/** Weak collections written by each dump. */
const pendingByDump = new WeakMap<Pickler, Pending[]>();

/**
 * For each weak collection of the dump, looks up the values the walk memoized since the last call and writes
 * one Fill record with those that are its keys. Returns whether it wrote anything (the pickler then drains
 * and asks again: an entry's value may bring in more keys). The cost follows the payload, not the
 * collection: a table of a million entries costs nothing more when three of its keys travel.
 */
export function writePendingWeakEntries(p: Pickler): boolean {
  const list = pendingByDump.get(p);
  if (list === undefined) return false;
  let wrote = false;
  for (const pending of list) {
    const { o, isMap } = pending;
    const values: unknown[] = [];
    let n = 0;
    pending.scanned = p.forEachMemoized(pending.scanned, (k) => {
      if (isMap ? !WeakMapPrototypeHas(o, k as WeakKey) : !WeakSetPrototypeHas(o, k as WeakKey)) return;
      values.push(k);
      if (isMap) values.push(WeakMapPrototypeGet(o, k as WeakKey));
      n++;
    });
    if (n === 0) continue;
    const id = p.memoId(o)!;
    p.writeFillRecord(o, id, { ...(isMap ? WeakMapCodec : WeakSetCodec), pathOf: () => pending.path }, () => {
      p.w.u8(0);
      p.w.varint(n);
      p.pushList(values, new FillLabels(values.length,
        isMap ? (i) => (i & 1 ? `.<weak entry #${i >> 1} value>` : `.<weak entry #${i >> 1} key>`) : (i) => `.<weak value #${i}>`,
        [], o));
    });
    wrote = true;
  }
  return wrote;
}

// ------------------------------------------------------------------------------------ codecs

function weakCodec(kind: Kind.WeakMap | Kind.WeakSet): ObjectCodec {
  const isMap = kind === Kind.WeakMap;
  const codec: ObjectCodec = {
    kind,
    name: isMap ? 'WeakMap' : 'WeakSet',
    multiFill: true,
    defaultProto: () => (isMap ? WeakMap.prototype : WeakSet.prototype),
    writeCreate(p: Pickler, o: object) {
      p.writeString(originIdOf(o));
      let list = pendingByDump.get(p);
      if (list === undefined) pendingByDump.set(p, list = []);
      list.push({ o, isMap, path: p.currentPath(), scanned: 0 });
    },
    writeFill(p: Pickler, o: object) {
      p.w.u8(1);
      p.w.u8(integrityOf(o));
      const values: unknown[] = [];
      const keys: PropertyKey[] = [];
      p.writeProps(o, values, null, keys);
      p.pushList(values, new FillLabels(0, () => '', keys, o));
    },
    create(u: Unpickler, proto) {
      const id = u.readString();
      if (u.allowCode) {
        const existing = byOrigin.get(id)?.deref();
        if (existing !== undefined && isWeakMap(existing) === isMap) {
          reused.add(existing);
          return existing;
        }
      }
      const Ctor: new () => object = isMap ? WeakMapCtor : WeakSetCtor;
      const o = proto === undefined ? new Ctor() : ReflectConstruct(Ctor, [], u.newTargetFor(proto)) as object;
      if (u.allowCode) remember(id, o);
      return o;
    },
    readFill(u: Unpickler, o: object) {
      const withProps = u.r.u8();
      if (withProps > 1) throw corrupt('bad weak collection fill');
      if (withProps === 1) {
        const s = new FillState(o);
        s.integrity = u.readIntegrity();
        // A collection this process already had keeps its own properties and integrity.
        if (reused.has(o)) s.discard = true;
        // Later Fill records add entries.
        u.deferredCodec.set(o, codec);
        u.readPropsAndPush(s);
        return;
      }
      const n = u.r.count(isMap ? 2 : 1);
      for (let i = 0; i < n; i++) {
        const key = u.readValue();
        const value = isMap ? u.readValue() : undefined;
        if (key === null || (typeof key !== 'object' && typeof key !== 'function' && typeof key !== 'symbol')) {
          throw corrupt(`a ${codec.name} key is not an object`);
        }
        try {
          if (isMap) WeakMapPrototypeSet(o, key as WeakKey, value);
          else WeakSetPrototypeAdd(o, key as WeakKey);
        } catch {
          throw corrupt(`a ${codec.name} key cannot be held weakly (a registered symbol)`);
        }
      }
    },
  };
  return codec;
}

/** Collections a load found already present (their properties are not overwritten). */
const reused = new WeakSet<object>();

export const WeakMapCodec = weakCodec(Kind.WeakMap);
export const WeakSetCodec = weakCodec(Kind.WeakSet);
