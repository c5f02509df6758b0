/**
 * Arrays that are not plain (holes in slow mode, extra named properties, non-default element attributes,
 * a non-writable length, a custom prototype, subclasses, integrity levels). Plain arrays take the pickler
 * core's fast path. Elements with default attributes travel as elements (dense with Hole markers, or sparse
 * as index/value pairs when mostly empty); the rest travel as properties with their exact attributes.
 */
import { corrupt } from '../api/errors.js';
import { ElementLayout, Integrity, Kind } from '../format/tags.js';
import { FillLabels, HOLE, integrityOf, type Pickler } from '../pickler/pickler.js';
import { Content, FillState, type Unpickler } from '../pickler/unpickler.js';
import {
  ArrayPrototype, ObjectGetOwnPropertyDescriptor, ReflectConstruct, ReflectOwnKeys,
} from '../util/primordials.js';
import type { ObjectCodec } from './codec.js';

const INDEX = /^(?:0|[1-9]\d*)$/;
function indexOf(k: PropertyKey): number {
  if (typeof k !== 'string' || !INDEX.test(k)) return -1;
  const n = +k;
  return n < 4294967295 ? n : -1;
}

export const ArrayCodec: ObjectCodec<unknown[]> = {
  kind: Kind.Array,
  name: 'array',
  defaultProto: () => ArrayPrototype,
  writeCreate() { /* elements and length come with the fill */ },
  writeFill(p: Pickler, a: unknown[]) {
    const w = p.w;
    const length = a.length;
    // Elements with default attributes; everything else is a property.
    const present: number[] = [];
    const presentValues: unknown[] = [];
    const special = new Set<PropertyKey>();
    for (const k of ReflectOwnKeys(a)) {
      const i = indexOf(k);
      if (i < 0) continue;
      const d = ObjectGetOwnPropertyDescriptor(a, k)!;
      if (d.writable === true && d.enumerable === true && d.configurable === true) {
        present.push(i);
        presentValues.push(d.value);
      } else {
        special.add(k);
      }
    }
    const lengthWritable = ObjectGetOwnPropertyDescriptor(a, 'length')!.writable === true;
    let integrity = integrityOf(a);
    // V8 answers Object.isFrozen(a) === true for a non-extensible array without elements even when its
    // length is writable (Object.preventExtensions([]), Object.seal([,])); freezing on load would make the
    // length read-only. Such an array is sealed.
    if (integrity === Integrity.Frozen && lengthWritable) integrity = Integrity.Sealed;
    w.u8(integrity);
    w.varint(length);
    const values: unknown[] = [];
    let label: (i: number) => string;
    if (present.length * 4 >= length) {
      w.u8(ElementLayout.Dense);
      let j = 0;
      for (let i = 0; i < length; i++) {
        if (j < present.length && present[j] === i) values.push(presentValues[j++]);
        else values.push(HOLE);
      }
      label = (i) => `[${i}]`;
    } else {
      w.u8(ElementLayout.Sparse);
      w.varint(present.length);
      for (const i of present) w.varint(i);
      for (const v of presentValues) values.push(v);
      label = (i) => `[${present[i]}]`;
    }
    const nContents = values.length;
    const keys: PropertyKey[] = [];
    p.writeProps(a, values, (k) => (k === 'length' ? lengthWritable : indexOf(k) >= 0 && !special.has(k)), keys);
    p.pushList(values, new FillLabels(nContents, label, keys, a));
  },
  create(u: Unpickler, proto) {
    if (proto === undefined) return [];
    return ReflectConstruct(Array, [], u.newTargetFor(proto)) as unknown[];
  },
  readFill(u: Unpickler, o: object) {
    const r = u.r;
    const s = new FillState(o);
    s.integrity = u.readIntegrity();
    const length = r.varint();
    if (length > 4294967295) throw corrupt('array length out of range');
    s.arrayLength = length;
    const layout = r.u8();
    if (layout === ElementLayout.Dense) {
      if (length > r.remaining) throw corrupt('array elements exceed the payload');
      s.content = Content.Elements;
      s.nContents = length;
    } else if (layout === ElementLayout.Sparse) {
      const m = r.count(2);
      const indices: number[] = [];
      for (let i = 0; i < m; i++) {
        const idx = r.varint();
        if (idx >= length) throw corrupt('sparse index beyond the array length');
        indices.push(idx);
      }
      s.content = Content.SparseElements;
      s.indices = indices;
      s.nContents = m;
    } else {
      throw corrupt(`bad element layout ${layout}`);
    }
    u.readPropsAndPush(s);
  },
};
