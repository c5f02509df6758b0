// Class definitions cross processes by value and behave as before: constructor, methods, statics, accessors,
// fields, static blocks, computed and symbol keys, #private members, inheritance with super, anonymous and
// factory-made classes, classes captured by closures (issue: classes, bullet 1).
import { cases } from '../harness/batch.mjs';

cases('classes/definitions.mjs', {}, [
  { title: 'constructor, methods, static method, getter and setter', name: 'plainClass',
    check: (C) => {
      const p = new C(3, -4);
      const q = C.origin();
      p.sum = 10;
      return [C.name, C.length, typeof C, p.norm1 === C.prototype.norm1, `${p}`, q instanceof C, p.sum, p.x,
        Object.keys(p), Object.getOwnPropertyNames(C.prototype)];
    },
    expect: ['Point', 2, 'function', true, '(14, -4)', true, 10, 14, ['x', 'y'],
      ['constructor', 'norm1', 'sum', 'toString']] },
  { title: 'a class is still a class: calling it without new throws', name: 'plainClass',
    check: (C) => { try { C(1, 2); return 'called'; } catch (e) { return e.constructor.name; } }, expect: 'TypeError' },
  { title: 'fields, static fields and a static block: static values as at dump time, new instances get field initializers',
    name: 'fieldsAndStatics',
    check: (C) => {
      const a = new C('ann').deposit(5).deposit(7);
      const b = new C('bob');
      return [C.currency, C.minimum, C.created, C.blockRan, a.owner, a.balance, a.history, b.history, a.history !== b.history,
        Object.keys(a)];
    },
    expect: ['EUR', 10, 'by static block', true, 'ann', 12, [5, 7], [], true, ['owner', 'balance', 'history']] },
  { title: 'computed and symbol keys: Symbol.iterator, Symbol.toPrimitive, Symbol.hasInstance, computed names',
    name: 'computedAndSymbolKeys',
    check: (C) => {
      const b = new C();
      return [[...b], +b, `${b}`, b.size, b['quoted-key'](), ({ items: [] }) instanceof C, 1 instanceof C,
        C.makeBag().size, typeof Object.getOwnPropertyDescriptor(C.prototype, 'size').get];
    },
    expect: [[1, 2, 3], 3, 'Bag(1,2,3)', 3, 'computed string', true, false, 3, 'function'] },
  { title: '#private fields, methods and accessors, instance and static (static private state as at dump time)',
    name: 'privateMembers',
    check: (C) => {
      const before = C.stats();
      const s = new C('c');
      return [before, s.reveal(), s.reveal(), s.rename('d'), s.reveal(), C.has(s), C.has({}), C.stats()];
    },
    expect: [['instances=2', 2, ['a', 'b']], '<c>', '<c>', 2, '<d>', true, false, ['instances=3', 3, ['a', 'b', 'c']]] },
  { title: 'an inheritance chain with super calls in constructors, methods and static methods', name: 'inheritanceChain',
    check: (C) => {
      const p = new C('rex', 'pug');
      const Dog = Object.getPrototypeOf(C);
      const Animal = Object.getPrototypeOf(Dog);
      const made = C.create('fido');
      return [p.speak(), C.describe(), p.label, p.kind, p instanceof Dog, p instanceof Animal,
        [C.name, Dog.name, Animal.name], made instanceof C, made.name, Object.getPrototypeOf(Animal) === Function.prototype];
    },
    expect: ['rex makes a sound: woof (small)', 'Puppy<Dog<Animal', 'rex/pug', 'dog', true, true,
      ['Puppy', 'Dog', 'Animal'], true, 'fido', true] },
  { title: '#private fields at two levels of a chain', name: 'privateAcrossChain',
    check: (C) => { const c = new C('c1', 2); return [c.describe(), c.id, Object.keys(c)]; }, expect: ['c1:13', 'c1', []] },
  { title: 'anonymous classes keep their inferred names (binding, property key, none)', name: 'anonymousInferred',
    check: (v) => [v.Inferred.name, new v.Inferred().hello(), v.holder.Keyed.name, v.holder.Keyed.tag, v.bare.name,
      typeof new v.bare()],
    expect: ['Inferred', 'inferred', 'Keyed', 'keyed', '', 'object'] },
  { title: 'class expressions from two factory calls stay two classes with their own closures', name: 'factoryClasses',
    check: ({ First, Second }) => {
      const before = [First.made(), Second.made()];
      const f = new First();
      return [First !== Second, First.prototype !== Second.prototype, f.tag(), new Second().tag(), f instanceof Second,
        before, First.made(), Second.made(), First.name];
    },
    expect: [true, true, 'first', 'second', false, [1, 0], 2, 1, 'Tagged'] },
  { title: 'a class captured by a closure (only reachable through it) keeps its static state', name: 'classInClosure',
    check: (v) => [v.total(), v.next(), v.next(), v.total()], expect: [1, 2, 3, 3] },
  { title: 'async, generator and async generator methods, and a static async method', name: 'methodKinds',
    check: async (C) => {
      const s = new C();
      const three = [];
      for await (const x of s.three()) three.push(x);
      return [await s.one(), [...s.two()], three, await C.four()];
    },
    expect: [1, [2, 2], [3], 4] },
  { title: 'a named class expression keeps its inner name binding', name: 'namedClassExpression',
    check: (C) => [C.name, new C().who()], expect: ['Inner', 'Inner'] },
  { title: 'a class extending null', name: 'extendsNull',
    check: (C) => { const o = new C(); return [o.k, Object.getPrototypeOf(C.prototype), o instanceof C]; },
    expect: ['null-based', null, true] },
  { title: 'a class using its own name and a module-level helper', name: 'selfReference',
    check: (C) => C.list(1, 2, 3).toArray(), expect: ['#1', '#2', '#3'] },
]);
