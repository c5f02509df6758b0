// Instances travel with their class automatically and are restored without running constructor bodies or
// field initializers, with their own properties, #private values and prototype chain (issue: classes,
// bullet 2, and the instance cases of "Include").
import { after } from 'node:test';
import { tempDir } from '../harness/roundtrip.mjs';
import { cases } from '../harness/batch.mjs';

// The fixture's constructors write `constructed.log` into the working directory: keep it out of the repo.
const producerDir = tempDir('pikala-classes-producer-');
after(() => producerDir.cleanup());

cases('classes/instances.mjs', { cwd: producerDir.dir }, [
  { title: 'loading instances runs no constructor body and no field initializer (counters, file write, throw on missing args)',
    name: 'noSideEffects',
    check: async ([a, b]) => {
      const { existsSync, readFileSync } = await import('node:fs');
      const C = a.constructor;
      const afterLoad = [C.counts(), existsSync('constructed.log')];
      let missingArgs;
      try { new C(); } catch (e) { missingArgs = e.message; }
      const c = new C('c'); // the real constructor still runs when asked
      return [afterLoad, a.name, a.id, a.stamp, b.id, b.stamp, b instanceof C, missingArgs, c.id, C.counts(),
        readFileSync('constructed.log', 'utf8')];
    },
    expect: [[{ constructed: 2, initialized: 2 }, false], 'a', 1, 'field#1', 2, 'field#2', true, 'Noisy needs a name', 4,
      { constructed: 3, initialized: 4 }, 'c\n'] },
  { title: 'an instance of a class nobody names brings its class', name: 'classNotNamed',
    check: (o) => { const C = o.constructor; return [o.twice(), C.name, o instanceof C, new C(5).twice()]; },
    expect: [42, 'Hidden', true, 10] },
  { title: 'objects whose class is only reachable through their prototype (Object.create of a prototype, of an instance)',
    name: 'onlyThroughPrototype',
    check: ({ bare, viaInstance }) => {
      const C = Object.getPrototypeOf(bare).constructor;
      return [bare.hello(), viaInstance.hello(), bare instanceof C, viaInstance instanceof C, Object.keys(bare),
        Object.getPrototypeOf(Object.getPrototypeOf(viaInstance)) === C.prototype, C.name];
    },
    expect: ['hello bare', 'hello child of an instance', true, true, ['who'], true, 'Proto'] },
  { title: 'own properties of every kind (non-enumerable, read-only, accessor, symbol, index) keep their attributes',
    name: 'ownProperties',
    check: (o) => {
      const d = Object.getOwnPropertyDescriptor(o, 'hidden');
      return [Reflect.ownKeys(o).map(String), o.visible, o.computed, d.enumerable, d.writable, o[Symbol.for('pikala.test.sym')],
        o[7], o.constructor.name];
    },
    expect: [['7', 'visible', 'hidden', 'computed', 'Symbol(pikala.test.sym)'], 2, 200, false, false, 'symbol key',
      'index key', 'Bag'] },
  { title: '#private field values per instance: functions, a self cycle, a cycle between two instances', name: 'privateValues',
    check: ({ v1, v2 }) => [v1.open(), v2.open(), v1.check(), v2.check(), v1.peer() === v2, v1 instanceof v2.constructor],
    expect: ['[gold]', 'SILVER', [true, true], [true, true], true, true] },
  { title: 'a subclass instance keeps its prototype chain and every level\'s private state', name: 'chainInstance',
    check: (o) => {
      const Car = Object.getPrototypeOf(o.constructor);
      const Vehicle = Object.getPrototypeOf(Car);
      return [o.describe(), o.vin, o instanceof Car, o instanceof Vehicle, Object.keys(o), o.constructor.name];
    },
    expect: ['Zoom vehicle V123 (300 km/h)', 'V123', true, true, ['wheels', 'brand'], 'SportsCar'] },
  { title: 'an instance whose prototype was changed with setPrototypeOf keeps the new prototype', name: 'setPrototypeOfInstance',
    check: ({ swapped, Cat, Robot }) => [swapped.speak(), swapped instanceof Robot, swapped instanceof Cat],
    expect: ['beep', true, false] },
  { title: 'an instance with #private fields moved to another prototype keeps its private fields', name: 'setPrototypeOfPrivate',
    check: ({ moved, Holder, Other }) => [moved instanceof Other, Holder.read(moved)], expect: [true, 'private x'],
    todo: 'the instance is planned from its current prototype (a class without private names): its #x is silently dropped, Holder.read throws after load' },
  { title: 'a plain object put on the prototype of a class with #private fields does not gain them', name: 'setPrototypeOfToPrivateClass',
    check: ({ impostor, Branded }) => [impostor.plain, impostor instanceof Branded, Branded.isBranded(impostor)],
    expect: [true, true, false] },
  { title: 'frozen and sealed instances stay frozen/sealed; private fields still change', name: 'frozenInstances',
    check: ({ frozen, sealed }) => [Object.isFrozen(frozen), Object.isSealed(sealed), Object.isFrozen(sealed), frozen.label,
      frozen.bump(), sealed.bump(), frozen instanceof sealed.constructor],
    expect: [true, true, false, 'ice', 2, 1, true] },
  { title: 'instances in Maps, Sets and arrays with cycles back to the class (a static registry)', name: 'collectionsWithCycles',
    check: ({ list, Item }) => {
      const [i1, i2, C, inner] = list;
      return [C === Item, inner[0] === i1, i1.kind === Item, i1.sibling === i2, i2.sibling === i1, Item.all.get('one') === i1,
        Item.all.get('two') === i2, [...Item.tags][1] === i2, i1 instanceof Item, new Item('three').kind === Item, Item.all.size];
    },
    expect: [true, true, true, true, true, true, true, true, true, true, 3] },
  { title: 'instances as Map keys and values, in a Set and twice in an array keep their identity', name: 'instancesInCollections',
    check: ({ map, set, arr }) => {
      const [k1] = map.keys();
      return [map.get(k1), set.has(k1), arr[0] === k1 && arr[1] === k1, k1.id(), map.get('x').id(), map.get('x') instanceof k1.constructor];
    },
    expect: ['first', true, true, 'key:1', 'key:2', true] },
  { title: 'an instance field arrow using this and a bound method act on the restored instance', name: 'arrowFieldThis',
    check: (b) => [b.onClick(), b.clicks, b.bound(), b.describe()], expect: [2, 2, 'ok:2', 'ok:2'] },
  { title: 'fields deleted from an instance with #private members stay deleted; own key order is kept', name: 'deletedInstanceFields',
    check: ({ slim, reordered }) => ['b' in slim, Object.keys(slim), slim.id(), Object.keys(reordered), reordered.a],
    expect: [false, ['a'], 1, ['b', 'a'], 3] },
  { title: 'an instance of a class with #private members whose constructor destructures its argument', name: 'destructuringConstructor',
    check: (o) => o.label(), expect: 'opts/2' },
  { title: 'loading an instance of a class with #private members runs no constructor default parameter', name: 'defaultParameterEffect',
    check: (o) => [o.value(), globalThis.pikalaDefaultParamRuns], expect: ['given', undefined] },
  { title: 'an instance whose field holds an arrow using #private names', name: 'privateArrowField',
    check: (o) => [o.inc(), o.peek()], expect: [2, 2] },
  { title: 'instances sharing a hidden class with variations between them (an element, read-only, getter, dictionary mode, a Map subclass)',
    name: 'sameMapVariations',
    check: (list) => {
      const [a, withElement, b, readOnly, c, withGetter, h, dictionary, dictionary2, i, m1, mapLike, m2] = list;
      const d = (o, k) => { const x = Object.getOwnPropertyDescriptor(o, k); return x.get ? 'get' : `${x.value}/${x.writable}`; };
      return [a.scaled(2), Object.keys(withElement), withElement[0], b.value, d(readOnly, 'value'), c.sensor, d(withGetter, 'value'),
        withGetter.value, h.scaled(1), Object.keys(dictionary), Object.keys(dictionary2), dictionary2.more0, i.value,
        m1 instanceof Map, m1.get(1), mapLike instanceof Map, Object.keys(mapLike), m2.get(2), a.constructor === i.constructor,
        Object.getPrototypeOf(m1) === Object.getPrototypeOf(mapLike)];
    },
    expect: [2, ['0', 'sensor', 'value'], 'index', 1.5, '3/false', 'c', 'get', 4, 7, ['sensor', 'value'], ['sensor', 'value', 'more0'],
      0, 8, true, 'one', true, ['size2'], 'two', true, true] },
  { title: '200 instances of one class: one class, each its own state', name: 'manyInstances',
    check: (list) => [list.length, list.every((c) => c.constructor === list[0].constructor), list[199].double, list[7].v],
    expect: [200, true, 398, 7] },
]);

cases('classes/scope-warning.mjs', {}, [
  { title: 'a subclass instance from a module with a mutable let dumps without a shared-scope warning', name: 'subclassInstance',
    check: (o) => [o.hello(), o instanceof Object.getPrototypeOf(o.constructor)], expect: ['derived>base', true] },
]);
// Its own producer: the warning is emitted once per process.
cases('classes/scope-warning.mjs', {}, [
  { title: 'two classes from a module with a mutable let dump without a shared-scope warning', name: 'twoClasses',
    check: (v) => [v.Base.name, v.Other.name], expect: ['Base', 'Other'] },
]);
cases('classes/scope-warning.js', { load: 'vm' }, [
  { title: 'a vm script (notebook) with a Script-scope let: a subclass instance dumps without a shared-scope warning',
    name: 'scriptSubclassInstance', check: (o) => [o.run(), o.run()], expect: [1, 2] },
]);
