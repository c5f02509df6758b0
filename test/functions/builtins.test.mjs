// Built-ins (globals, their prototypes' methods, node: module exports) ship by reference and are === to the
// receiver's own after load (issue: functions, bullet 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cases, produceEach } from '../harness/batch.mjs';
import { loads } from '../../dist/esm/index.js';

cases('functions/builtins.mjs', {}, [
  { title: 'global functions are the receiver\'s own', name: 'globalFunctions',
    check: (v) => [v.max === Math.max, v.parseInt === parseInt, v.keys === Object.keys, v.parse === JSON.parse,
      v.setTimeout === setTimeout, v.structuredClone === structuredClone],
    expect: [true, true, true, true, true, true] },
  { title: 'global objects are the receiver\'s own', name: 'globalObjects',
    check: (v) => [v.math === Math, v.json === JSON, v.reflect === Reflect, v.console === console, v.buffer === Buffer],
    expect: [true, true, true, true, true] },
  { title: 'globals Node defines as accessors (process, performance, fetch) are the receiver\'s own', name: 'accessorGlobals',
    check: (v) => [v.process === process, v.performance === performance, v.fetch === fetch], expect: [true, true, true] },
  { title: 'methods of built-in prototypes (and a prototype itself) are the receiver\'s own', name: 'prototypeMethods',
    check: (v) => [v.push === Array.prototype.push, v.then === Promise.prototype.then, v.toFixed === Number.prototype.toFixed,
      v.iteratorNext === Object.getPrototypeOf([][Symbol.iterator]()).next, v.arrayProto === Array.prototype],
    expect: [true, true, true, true, true] },
  { title: 'node: module exports are the receiver\'s own', name: 'nodeModuleExports',
    check: async (v) => {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const events = await import('node:events');
      return [v.read === fs.readFileSync, v.join === path.join, v.read === fs.default.readFileSync, v.EventEmitter === events.EventEmitter];
    },
    expect: [true, true, true, true] },
  { title: 'a closure using imported node: functions and globals', name: 'closureUsingBuiltins',
    check: (f) => f('b'), expect: ['a/b', 'function', 2, 0] },
  { title: 'built-ins inside a Map', name: 'builtinsInsideData',
    check: async (m) => [m.get('min') === Math.min, m.get('join') === (await import('node:path')).join], expect: [true, true] },
  { title: 'a bound built-in', name: 'boundBuiltin', check: (f) => [f(3), f.name], expect: [10, 'bound max'] },
  { title: 'a closure using a namespace import of a node: module', name: 'namespaceImport', check: (f) => f(), expect: 'x/y' },
  { title: 'a user function attached to a built-in object travels by value', name: 'userFunctionOnBuiltin',
    check: (v) => v.helper(21), expect: 42 },
  { title: 'prototypes of the program attached to built-ins travel by value', name: 'userObjectsOnBuiltins',
    check: (v) => [typeof v.proto.norm, v.proto.constructor.name, v.square.area(), Object.getPrototypeOf(v.square) === v.shapeProto,
      'pikalaTestPointPrototype' in Math, 'pikalaTestShapePrototype' in JSON],
    expect: ['function', 'PikalaTestPoint', 25, true, false, false] },
  { title: 'an instance of a program class attached to process travels by value', name: 'userInstanceOnProcess',
    check: (v) => [v.origin.norm(), v.origin.constructor.name, 'pikalaTestOrigin' in process], expect: [25, 'PikalaTestPoint', false] },
]);

cases('functions/builtin-module-objects.mjs', {}, [
  { title: 'node: module objects themselves are the receiver\'s own', name: 'moduleObjects',
    check: async (v) => [v.path === (await import('node:path')).default, v.fs === (await import('node:fs')).default],
    expect: [true, true] },
]);

// PIKALA_NO_NATIVES=1 switches off pikala's V8-natives fast paths; results must not depend on it.
cases('functions/builtins.mjs', { env: { PIKALA_NO_NATIVES: '1' } }, [
  { title: 'PIKALA_NO_NATIVES=1: built-ins still ship by reference', name: 'globalFunctions',
    check: (v) => [v.max === Math.max, v.keys === Object.keys], expect: [true, true] },
  { title: 'PIKALA_NO_NATIVES=1: a user function attached to a built-in object travels by value', name: 'userFunctionOnBuiltin',
    check: (v) => v.helper(21), expect: 42 },
  { title: 'PIKALA_NO_NATIVES=1: prototypes of the program attached to ECMAScript built-ins travel by value', name: 'userObjectsOnBuiltins',
    check: (v) => [typeof v.proto.norm, v.square.area(), Object.getPrototypeOf(v.square) === v.shapeProto], expect: ['function', 25, true] },
]);

test('limitation: a Map hung on a built-in object travels as its path; a receiver without it gets PIKALA_MODULE_NOT_FOUND', async () => {
  const { mapOnProcess } = await produceEach('functions/builtins.mjs', { names: ['mapOnProcess'] });
  assert.ok(mapOnProcess.ok, 'dumps failed');
  assert.equal(process.pikalaTestCache, undefined);
  assert.throws(() => loads(mapOnProcess.bytes),
    (e) => e.code === 'PIKALA_MODULE_NOT_FOUND' && e.message.includes('process.pikalaTestCache'));
});

test('the bytes of a value do not depend on what the process dumped before (registry walks)', async () => {
  const names = ['globalFunctions', 'globalObjects', 'accessorGlobals', 'prototypeMethods', 'nodeModuleExports',
    'closureUsingBuiltins', 'builtinsInsideData', 'boundBuiltin', 'namespaceImport', 'userFunctionOnBuiltin', 'userObjectsOnBuiltins', 'userInstanceOnProcess'];
  const [a, b] = await Promise.all([produceEach('functions/builtins.mjs', { names }),
    produceEach('functions/builtins.mjs', { names: [...names].reverse() })]);
  for (const name of names) {
    assert.ok(a[name].ok && b[name].ok, `${name} did not dump`);
    assert.ok(Buffer.from(a[name].bytes).equals(Buffer.from(b[name].bytes)), `${name}: bytes depend on the dump order`);
  }
});
