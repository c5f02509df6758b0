// What an ES module function uses from modules (issue: modules, bullets 1-2 and 6): named, default and namespace
// imports of CommonJS and ES-module-only packages, exports maps through the "import" condition, re-exports,
// built-ins, the program's own files by value, dynamic import(); ES-module-only packages load on the receiver
// without making loads asynchronous (require(esm), Node >= 20.19). Fake packages in temporary node_modules on
// both sides; the consumer runs in another folder, where the producer's files do not exist.
import assert from 'node:assert/strict';
import { contains, suite } from '../fixtures/modules/harness.mjs';

const PACKAGES = ['pk-cjs', 'pk-esm', 'pk-exports', 'scoped'];
const small = (max) => (bytes) => {
  assert.ok(bytes.length < max, `payload is ${bytes.length} bytes`);
  assert.ok(!contains(bytes, 'PK_CJS_BIG_TABLE_'), 'a package member travelled by value');
};
/** The payload holds no source text of pk-esm (its functions travel by reference). */
const noPkEsmSource = (bytes) => {
  assert.ok(!contains(bytes, 'toUpperCase()}!'), 'pk-esm\'s loud travelled by value');
  assert.ok(!contains(bytes, '++counter.n'), 'pk-esm\'s bump travelled by value');
};

suite({
  producer: {
    packages: PACKAGES,
    files: { 'main.mjs': 'esm/main.mjs', 'helpers.mjs': 'esm/helpers.mjs', 'reexports.mjs': 'esm/reexports.mjs' },
    fixture: 'main.mjs',
  },
  consumers: { default: { packages: PACKAGES } },
}, [
  // CommonJS packages imported from ES modules
  { title: 'named import of a CommonJS package', name: 'namedCjs', payload: small(1000), check: (f) => f('ann'), expect: 'hello ANN' },
  { title: 'named imports of a CommonJS package are the receiver\'s own', name: 'namedCjsIdentity',
    check: (f, { require }) => [f().greet === require('pk-cjs').greet, f().registry === require('pk-cjs').registry],
    expect: [true, true] },
  { title: 'default import of a CommonJS package is the receiver\'s module.exports', name: 'defaultCjs', payload: small(1000),
    check: (f, { require, entryDir }) => [f() === require('pk-cjs'), f().whoLoadedMe.startsWith(entryDir)], expect: [true, true] },
  { title: 'namespace import of a CommonJS package', name: 'namespaceCjs', payload: small(1000),
    check: (f) => f('ns'), expect: ['hello NS', true] },
  { title: 'namespace import of a CommonJS package: its members and default are the receiver\'s own', name: 'namespaceCjsMembers',
    payload: small(1000),
    check: (f, { require }) => {
      const ns = f();
      return [ns.greet === require('pk-cjs').greet, ns.default === require('pk-cjs'), Object.prototype.toString.call(ns)];
    },
    expect: [true, true, '[object Module]'] },

  // ES-module-only packages
  { title: 'named imports of an ES-module-only package load synchronously and share the receiver\'s module state',
    name: 'namedEsm', payload: noPkEsmSource,
    check: async (f, { sync, require }) => {
      const before = require('pk-esm').bump();
      const r = f('x'); // loads returned the function itself: callable at once
      const after = (await import('pk-esm')).bump();
      return [sync, r[0] - before, r[1] - before, r[2], r[3], after - before];
    },
    expect: [true, 1, 2, 'pk-esm', 'more(x)', 3] },
  { title: 'default import of an ES-module-only package', name: 'defaultEsm', check: (f) => f(1), expect: 'pk-esm default(1)' },
  { title: 'namespace import of an ES-module-only package', name: 'namespaceEsm', check: (f) => f('a'),
    expect: ['pk-esm', 'A!', 'pk-esm default(a)'] },
  { title: 'namespace import of an ES-module-only package: members are the receiver\'s own', name: 'namespaceEsmMembers',
    check: async (f) => {
      const own = await import('pk-esm');
      const ns = f();
      return [ns.loud === own.loud, ns.default === own.default, ns.bump === own.bump];
    },
    expect: [true, true, true] },
  { title: 'members a package re-exports from its own files (export { x as y } from, export * from)', name: 'reexportedInsidePackage',
    payload: noPkEsmSource, check: (f) => f('r'), expect: ['R!', 'more(r)'] },
  { title: 'members a package re-exports are the receiver\'s own', name: 'reexportedInsidePackageIdentity',
    check: async (f) => { const own = await import('pk-esm'); return [f().loud === own.loud, f().more === own.more]; },
    expect: [true, true] },
  { title: 'a subpath exported under the "import" condition only (pk-esm/extra)', name: 'importOnlySubpath',
    check: (f) => f(1), expect: 'pk-esm extra(1)' },

  // exports maps through import
  { title: 'exports map through the "import" condition, a subpath and a pattern', name: 'exportsMap', payload: small(1500),
    check: (f) => f(2), expect: ['[ 2 ]', 7, 'alpha feature'] },
  { title: 'exports map: imported members are the receiver\'s own', name: 'exportsMapIdentity',
    check: async (f) => {
      const v = f();
      return [v.format === (await import('pk-exports')).format, v.subtract === (await import('pk-exports/sub')).subtract,
        v.alpha === (await import('pk-exports/features/alpha')).alpha];
    },
    expect: [true, true, true] },
  { title: 'a dual package imported with the "import" condition stays the ES flavour (no dual-package switch)',
    name: 'dualPackage', check: (f) => f(), expect: 'esm' },
  { title: 'a scoped package', name: 'scoped', check: (f) => f(2), expect: 'tool(2)' },

  // built-ins
  { title: 'named, default and namespace imports of built-ins are the receiver\'s own members', name: 'builtins',
    check: (f, { require }) => {
      const v = f();
      return [v.readFileSync === require('fs').readFileSync, v.cpus === require('os').cpus, v.join === require('path').join];
    },
    expect: [true, true, true] },
  { title: 'a namespace import of a built-in arrives as a frozen namespace of the receiver\'s own members (README, Limitations)',
    name: 'builtinNamespace',
    check: (f, { require }) => [f().join === require('node:path').join, f().default === require('node:path'), Object.isFrozen(f()),
      f() === require('node:path')],
    expect: [true, true, true, false] },

  // the program's own files, re-exports through them
  { title: 'the program\'s own module travels by value, with the packages it imports by reference', name: 'userFile',
    check: (f) => f(2), expect: 'hello 4! via pk-esm' },
  { title: 'a CommonJS package member re-exported by the program\'s own module is the receiver\'s own', name: 'reexportedCjs',
    payload: small(1000), check: (f, { require }) => f() === require('pk-cjs').greet, expect: true },
  { title: 'an ES package member re-exported by the program\'s own module works', name: 'reexportedEsm',
    check: (f) => f('re'), expect: 'RE!' },
  { title: 'an ES package member re-exported by the program\'s own module travels by reference', name: 'reexportedEsmIdentity',
    payload: noPkEsmSource, check: async (f) => f() === (await import('pk-esm')).loud, expect: true },
  { title: 'an ES package function re-exported by the program\'s own module shares the receiver\'s package state',
    name: 'reexportedEsmState',
    check: async (f) => { const own = (await import('pk-esm')).bump; const before = own(); const [a, b] = f(); return [a - before, b - before]; },
    expect: [1, 2] },
  { title: 'a namespace of an ES package re-exported by the program\'s own module (export * as ns from)', name: 'reexportedNamespace',
    check: (f) => f('n'), expect: 'N!' },
  { title: '`export { greet } from \'pk-cjs\'` dumped directly is the receiver\'s own', name: 'exportFromCjs', payload: small(300),
    check: (f, { require }) => f === require('pk-cjs').greet, expect: true },
  { title: '`export { loud } from \'pk-esm\'` dumped directly is the receiver\'s own', name: 'exportFromEsm', payload: noPkEsmSource,
    check: async (f) => f === (await import('pk-esm')).loud, expect: true },
  { title: 'an ES package member kept in a module-level variable travels by reference', name: 'aliasOfEsmMember',
    payload: noPkEsmSource, check: (f) => f('al'), expect: 'AL!' },
  { title: 'an ES package namespace kept in an object of the program', name: 'namespaceInObject',
    check: (f) => f('o'), expect: 'O!' },

  // dynamic import
  { title: 'dynamic import() of an ES-module-only package in a shipped ES function', name: 'dynamicImport',
    check: async (f) => f('dy'), expect: 'DY!' },
  { title: 'dynamic import() of a built-in in a shipped ES function', name: 'dynamicImportBuiltin',
    check: async (f, { require }) => (await f()) === require('path').sep, expect: true },
]);
