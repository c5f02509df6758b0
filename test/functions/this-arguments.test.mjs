// this, arguments and new.target captured by arrows (sync arrows exact through the probe; async arrows refused
// with advice); recursion and transitive capture (issue: functions, bullet 4).
import { cases } from '../harness/batch.mjs';

cases('functions/this-arguments.mjs', {}, [
  { title: 'arrow capturing this: the same object as elsewhere in the graph (live)', name: 'thisArrow',
    check: (v) => { const a = v.arrow(); v.holder.tag = 'changed'; return [a, v.arrow()]; }, expect: ['h', 'changed'] },
  { title: 'arrow returning this returns the rebuilt object itself', name: 'thisIdentity',
    check: (v) => [v.arrow() === v.self, v.arrow().name], expect: [true, 'self'] },
  { title: 'arrow made by a method captures the method\'s receiver', name: 'methodArrow',
    check: (v) => { v.maker.tag = 'changed'; return [v.arrow(), v.maker.make()()]; }, expect: ['changed', 'changed'] },
  { title: 'arrow capturing module-level this (undefined)', name: 'moduleThis', check: (f) => f() === undefined, expect: true },
  { title: 'arrow inside an arrow captures the outer function\'s this', name: 'nestedArrow', check: (f) => f(), expect: 9 },
  { title: 'sync arrow made by an async function captures its this', name: 'arrowFromAsyncFunction',
    check: (f) => f(), expect: 'from async' },
  { title: 'arrow capturing arguments', name: 'argumentsArrow', check: (f) => f(), expect: [1, 'two', 3] },
  { title: 'arrow capturing this and arguments', name: 'thisAndArguments', check: (f) => f(), expect: ['K', 1, 2] },
  { title: 'arrow capturing new.target', name: 'newTargetArrow', check: (v) => v.arrow() === v.NT, expect: true },
  { title: 'async arrow using this fails with PIKALA_CAPTURE and advises const self = this', name: 'asyncThisArrow',
    error: { code: 'PIKALA_CAPTURE', path: 'root.run', message: /const self = this/ } },
  { title: 'arrow using this with a destructured parameter', name: 'thisArrowWithDestructuredParameter',
    check: (f) => f({ a: 2 }), expect: [1, 2] },
  { title: 'arrow using this with a default parameter', name: 'thisArrowWithDefaultParameter', check: (f) => f(), expect: 'T' },
  { title: 'the probe runs no default parameter initializer of the probed function', name: 'sideEffectsAfterProbe',
    check: (n) => n, expect: 0 },
  { title: 'sharing probe of closures with a destructured parameter keeps two calls apart', name: 'sharingWithDestructuredParameter',
    check: (v) => [v.a.inc({ step: 2 }), v.b.inc({ step: 1 }), v.a.get(), v.b.get()], expect: [2, 1, 2, 1] },
  { title: 'recursion through a named function expression', name: 'namedFunctionExpression',
    check: (f) => [f(5), f.name], expect: [120, 'fact'] },
  { title: 'recursion through an outer binding', name: 'recursionThroughOuterBinding', check: (f) => f(10), expect: 55 },
  { title: 'mutual recursion', name: 'mutualRecursion', check: (f) => [f(10), f(7)], expect: [true, false] },
  { title: 'recursion through this in a method', name: 'recursionThroughObject', check: (o) => o.depth(4), expect: 4 },
]);
