// Function own properties, name, length, strictness, constructor functions and their prototypes
// (issue: functions, bullet 5).
import { cases } from '../harness/batch.mjs';

cases('functions/properties.mjs', {}, [
  { title: 'own properties: data, symbol-keyed, non-enumerable and accessor', name: 'withProperties',
    check: (f) => {
      const d = Object.getOwnPropertyDescriptor(f, 'hidden');
      return [f(1), f.extra, f.count, f[Symbol.for('pikala.test.meta')], d.value, d.enumerable, f.computed,
        typeof Object.getOwnPropertyDescriptor(f, 'computed').get];
    },
    expect: [1, { deep: [1, 2] }, 3, 'registered symbol key', 'not enumerable', false, 6, 'function'] },
  { title: 'inferred name of const f = () => 1', name: 'inferredArrow', check: (f) => [f.name, f()], expect: ['inferredArrow', 1] },
  { title: 'inferred names from object literal keys (plain and computed)', name: 'inferredInObject',
    check: (o) => [o.prop.name, o.compKey.name, o.method.name, o.compKey()], expect: ['prop', 'compKey', 'method', 3] },
  { title: 'a redefined name', name: 'renamed', check: (f) => f.name, expect: 'custom' },
  { title: 'a deleted name stays deleted', name: 'nameDeleted',
    check: (f) => [Object.hasOwn(f, 'name'), f.name], expect: [false, ''] },
  { title: 'length: plain, default, rest, patterns and redefined', name: 'lengths',
    check: (o) => Object.values(o).map((f) => f.length), expect: [3, 1, 0, 2, 7] },
  { title: 'a strict function stays strict: this is undefined when called bare', name: 'strictFunction',
    check: (f) => f(), expect: true },
  { title: 'a strict function stays strict: assigning an undeclared name throws', name: 'strictAssignment',
    check: (f) => f(), expect: 'ReferenceError' },
  { title: 'constructor function: prototype methods, new, instanceof, static properties', name: 'Point',
    check: (P) => {
      const p = new P(3, 4);
      return [p.norm(), p instanceof P, P.prototype.constructor === P, p.scale(2) instanceof P, p.scale(2).norm(), P.origin,
        Object.keys(P.prototype)];
    },
    expect: [5, true, true, true, 10, 'static property', ['norm', 'scale']] },
  { title: 'an instance travels with its constructor function (instanceof the rebuilt one)', name: 'pointWithInstance',
    check: (v) => [v.p instanceof v.Point, v.p.norm(), Object.getPrototypeOf(v.p) === v.Point.prototype], expect: [true, 5, true] },
  { title: 'ES5 inheritance (prototype = Object.create(Parent.prototype))', name: 'es5Inheritance',
    check: (D) => { const d = new D('rex'); return [d.speak(), d instanceof D, Object.getPrototypeOf(D.prototype).speak.name]; },
    expect: ['rex speaks and barks', true, ''] },
  { title: 'a replaced prototype object (without constructor)', name: 'ReplacedPrototype',
    check: (F) => [new F().hello(), new F() instanceof F], expect: ['from replaced prototype', true] },
  { title: 'a frozen function stays frozen', name: 'frozen', check: (f) => [Object.isFrozen(f), f()], expect: [true, 'frozen'] },
  { title: 'a non-extensible function stays non-extensible', name: 'nonExtensible',
    check: (f) => [Object.isExtensible(f), Object.isFrozen(f), f.tag], expect: [false, false, 't'] },
  { title: 'a generator function\'s own prototype object and what was added to it', name: 'generatorPrototype',
    check: (g) => [g().extra(), Object.getPrototypeOf(g()) === g.prototype, [...g()]], expect: ['on generator prototype', true, [1]] },
]);

cases('functions/properties.cjs', {}, [
  { title: 'a sloppy function stays sloppy: this is the global object when called bare', name: 'sloppyFunction',
    check: (f) => f(), expect: true },
  { title: 'a sloppy function stays sloppy: assigning an undeclared name creates a global', name: 'sloppyAssignment',
    check: (f) => f(), expect: 'created' },
  { title: 'a sloppy arrow stays sloppy', name: 'sloppyArrow', check: (f) => f(), expect: 'number' },
  { title: 'a sloppy method stays sloppy', name: 'sloppyMethod', check: (o) => { const m = o.m; return m(); }, expect: true },
  { title: 'a function with its own \'use strict\' stays strict', name: 'ownUseStrict', check: (f) => f(), expect: true },
  { title: 'functions inside a \'use strict\' function stay strict', name: 'strictByEnclosingFunction',
    check: (o) => { const fn = o.fn; return [fn(), o.arrow()]; }, expect: [true, 'ReferenceError'] },
]);
