/**
 * Module references: a member of an installed package (or a `require` function) that the receiver loads
 * itself. Create payload: kind, specifier, export path, package name and version, import flag,
 * enclosing packages. No fill: the object is the
 * receiver's own. See code/modules.ts for how references are found and resolved.
 */
import { corrupt } from '../api/errors.js';
import { Kind } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import type { Unpickler } from '../pickler/unpickler.js';
import type { ObjectCodec } from './codec.js';
import { ModuleRef, loadModuleRef, type ResolveOptions } from '../code/modules.js';

export interface ModuleRefSource {
  moduleRefOf(o: object): ModuleRef;
}

export function moduleRefCodec(refs: ModuleRefSource): ObjectCodec<object> {
  return {
    kind: Kind.ModuleRef,
    name: 'module',
    code: true,
    // The receiver's own object keeps its own prototype: never written.
    defaultProto: (o) => (o === null ? null : Object.getPrototypeOf(o) as object | null),
    writeCreate(p: Pickler, o: object) {
      const ref = refs.moduleRefOf(o);
      p.hasCode = true;
      p.w.u8(ref.kind === 'require' ? 1 : ref.kind === 'namespace' ? 2 : 0);
      p.writeString(ref.specifier);
      p.w.varint(ref.path.length);
      for (const k of ref.path) p.writeString(k);
      p.writeString(ref.packageName);
      p.writeString(ref.version);
      p.w.u8(ref.viaImport ? 1 : 0);
      p.w.varint(ref.via.length);
      for (const name of ref.via) p.writeString(name);
    },
    writeFill() { /* nothing: the receiver's own module */ },
    create(u: Unpickler) {
      const kind = u.r.u8();
      if (kind > 2) throw corrupt('bad module reference kind');
      const specifier = u.readString();
      const n = u.r.count(1);
      const path: string[] = [];
      for (let i = 0; i < n; i++) path.push(u.readString());
      const packageName = u.readString();
      const version = u.readString();
      const viaImport = u.r.u8();
      if (viaImport > 1) throw corrupt('bad module reference flag');
      const nesting = u.r.count(1);
      const via: string[] = [];
      for (let i = 0; i < nesting; i++) via.push(u.readString());
      const value = loadModuleRef(new ModuleRef(specifier, path, kind === 1 ? 'require' : kind === 2 ? 'namespace' : 'value',
        packageName, version, viaImport === 1, via),
        (u.options ?? {}) as ResolveOptions);
      if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
        // A primitive export: the record still stands for an object slot in the memo; wrap nothing.
        return { value } as object;
      }
      return value as object;
    },
    readFill() { /* nothing */ },
  };
}
