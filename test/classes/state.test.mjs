// Static state travels as it was at dump time, without running static initializers, static blocks or
// computed-key expressions again; later changes to a class and its prototype (added, replaced, deleted
// members, attributes) are kept (issue: classes, bullets 3 and 4).
import { after } from 'node:test';
import { tempDir } from '../harness/roundtrip.mjs';
import { cases } from '../harness/batch.mjs';

// The fixture's initializers write `*.log` files into the working directory: keep them out of the repo.
const producerDir = tempDir('pikala-classes-producer-');
after(() => producerDir.cleanup());

cases('classes/state.mjs', { cwd: producerDir.dir }, [
  { title: 'a static field changed after class creation keeps its new value; added and replaced statics travel',
    name: 'staticChanged',
    // Assigning an existing method keeps it non-enumerable.
    check: (C) => [C.level, C.names, C.added, C.describe(), Object.keys(C)],
    expect: [5, ['a', 'b'], 'after creation', 'replaced: 5', ['level', 'names', 'added']] },
  { title: 'loading runs no static initializer, static block or computed-key expression (counters, file writes, throws)',
    name: 'noStaticRerun',
    check: async (C) => {
      const { existsSync } = await import('node:fs');
      const o = new C();
      return [existsSync('statics.log'), existsSync('keys.log'), C.counts(), C.id, C.file, C.blockRuns, o.method1(), C.static2(),
        o.getter3, Object.getOwnPropertyNames(C.prototype).sort()];
    },
    expect: [false, false, { keyCalls: 3, staticInits: 1 }, 1, 'statics.log', 1, 'computed method', 'computed static',
      'computed getter', ['constructor', 'getter3', 'method1']] },
  { title: 'a computed field key that runs code fails with PIKALA_UNSUPPORTED naming its path', name: 'computedFieldCall',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.C', message: /computed key \[fieldKey\(\)\]/ } },
  { title: 'a computed field key that names a constant', name: 'computedFieldName',
    check: (C) => [new C().tag, Object.keys(new C())], expect: ['tagged', ['tag']],
    todo: 'PIKALA_UNSUPPORTED "cannot tell the value of the computed key [tagKey]" when no function uses the constant (it is not in [[Scopes]])' },
  { title: 'a computed static field key that is a well-known symbol', name: 'computedFieldSymbol',
    check: (C) => C[Symbol.unscopables], expect: { hidden: true } },
  { title: 'prototype methods added, replaced (assignment, defineProperty) and deleted after creation; a deleted static',
    name: 'prototypeChanged',
    check: (C) => {
      const w = C.create();
      const d = Object.getOwnPropertyDescriptor(C.prototype, 'hidden');
      return [w.render(), w.render(), w.extra(), w.label, w.hidden(), d.enumerable, 'remove' in w, 'legacy' in C,
        Object.keys(C.prototype)];
    },
    expect: ['patched render #2', 'patched render #3', 'extra 1', 'defined label', 'non-enumerable added', false, false, false,
      ['extra']] }, // assigning an existing method keeps it non-enumerable
  { title: 'attribute changes on original members and a renamed class travel', name: 'attributesChanged',
    check: (C) => {
      const d = Object.getOwnPropertyDescriptor(C.prototype, 'use');
      return [C.name, new C().use(), d.writable, d.enumerable, C.meta, Object.keys(C.prototype)];
    },
    expect: ['RenamedTool', 'used', false, true, { version: 2 }, ['use']] },
  { title: 'a singleton instance in a static field and a static field holding the class itself', name: 'staticSingleton',
    check: (C) => [C.default instanceof C, C.default.name, C.self === C], expect: [true, 'changed default', true] },
  { title: 'a frozen class and a frozen prototype stay frozen', name: 'frozenClass',
    check: (C) => [Object.isFrozen(C), Object.isFrozen(C.prototype), C.count, new C().hello()], expect: [true, true, 3, 'hello'] },
  { title: 'an instance whose class prototype lost its constructor property still works', name: 'constructorDeleted',
    check: (o) => [o.get(), Object.hasOwn(Object.getPrototypeOf(o), 'constructor')], expect: [9, false] },
  { title: 'static #private state changed after creation keeps its value', name: 'staticPrivateChanged',
    check: (C) => [C.tick(), C.tick()], expect: [3, 4] },
  { title: 'a class whose prototype.constructor was reassigned to another class, and its instance', name: 'constructorReassigned',
    check: ({ Renamed, inst }) => [inst.m(), inst instanceof Renamed, new Renamed().m(), Renamed.prototype.constructor.name],
    expect: ['renamed', true, 'renamed', 'Stranger'] },
  { title: 'a method and a static method replaced by a sibling class\'s with the same text keep the new closure', name: 'replacedBySameText',
    check: (C) => [new C().label(), C.label()], expect: ['right', 'right'],
    todo: 'members are taken as original when their text matches the class text: the replacement is not shipped and the original closure answers "left"' },
  { title: 'a static field deleted after creation stays deleted', name: 'deletedStaticField',
    check: (C) => ['dropped' in C, C.kept, Object.keys(C)], expect: [false, 1, ['kept']] },
  { title: 'classes whose [[Prototype]] was set to a plain object (static super calls go there)', name: 'staticParentIsPlainObject',
    check: ({ Kid, Heir }) => [Kid.who(), Heir.who(), Object.getPrototypeOf(Heir.prototype).constructor.who()],
    expect: ['kid>plain parent', 'heir>plain parent', 'elder'] },
]);
