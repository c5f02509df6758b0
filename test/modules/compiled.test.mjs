// Compiled code (issue: modules, bullet 1): TypeScript's CommonJS output (`fs_1.readFileSync`, `(0, pk_cjs_1.greet)(x)`,
// __importStar / __importDefault with esModuleInterop, plain require without it), TypeScript's ES2022 output,
// and esbuild's CommonJS shape (`import_fs.readFileSync`, `__toESM(require('pk-cjs'))`, written by hand in
// test/fixtures/modules/compiled/esbuild-out.cjs). The TypeScript sources are compiled with the project's
// typescript into the temporary producer project, next to node_modules holding the fake packages.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { contains, MODULE_FIXTURES, suite } from '../fixtures/modules/harness.mjs';

const PACKAGES = ['pk-cjs', 'pk-exports'];
const VARIANTS = {
  interop: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019, esModuleInterop: true },
  plain: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019, esModuleInterop: false },
  esm: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
};
const TS_NAMES = ['namespaceBuiltin', 'namespaceBuiltinIdentity', 'namedBuiltinIdentity', 'named', 'namedState',
  'defaultImport', 'namespaceImport', 'usesClass', 'exportsMap', 'userFile', 'noBigMember'];
const ESBUILD_NAMES = ['readsFile', 'namedBuiltinIdentity', 'namespaceBuiltin', 'namedImport', 'namedImportIdentity',
  'defaultImport', 'namespaceImport', 'usesExportsMap', 'noBigMember'];

/** Compiles the TypeScript sources once per variant (a folder each) and writes index.mjs exporting every case. */
async function build(dir) {
  const lines = [];
  for (const [variant, options] of Object.entries(VARIANTS)) {
    const out = join(dir, variant);
    mkdirSync(out);
    // CommonJS output in .js files of a folder without "type"; ES output in a "type": "module" folder.
    if (options.module === ts.ModuleKind.ES2022) writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
    for (const name of ['uses-packages', 'ts-helpers']) {
      const r = ts.transpileModule(readFileSync(join(MODULE_FIXTURES, 'compiled', `${name}.ts`), 'utf8'), {
        fileName: `${name}.ts`, reportDiagnostics: true, compilerOptions: { ...options, strict: true },
      });
      if (r.diagnostics.length) throw new Error(ts.formatDiagnostics(r.diagnostics, ts.createCompilerHost({})));
      writeFileSync(join(out, `${name}.js`), r.outputText);
    }
    lines.push(`import * as ${variant} from './${variant}/uses-packages.js';`);
    for (const n of TS_NAMES) lines.push(`export const ${variant}_${n} = ${variant}.${n};`);
  }
  lines.push("import esbuild from './esbuild-out.cjs';");
  for (const n of ESBUILD_NAMES) lines.push(`export const esbuild_${n} = esbuild.${n};`);
  writeFileSync(join(dir, 'index.mjs'), lines.join('\n') + '\n');
}

const noBig = (max) => (bytes) => {
  assert.ok(bytes.length < max, `payload is ${bytes.length} bytes`);
  assert.ok(!contains(bytes, 'PK_CJS_BIG_TABLE_'), 'a package member travelled by value');
};
function tsCases(variant) {
  const label = { interop: 'TS→CommonJS (esModuleInterop)', plain: 'TS→CommonJS (no esModuleInterop)', esm: 'TS→ES2022' }[variant];
  const name = (n) => `${variant}_${n}`;
  return [
    { title: `${label}: \`import * as fs from 'fs'\` then fs.readFileSync`, name: name('namespaceBuiltin'),
      check: (f, { entryDir }) => f(`${entryDir}/payload.bin`) > 0, expect: true },
    { title: `${label}: fs.readFileSync through a namespace import is the receiver's own`, name: name('namespaceBuiltinIdentity'),
      check: (f, { require }) => f() === require('fs').readFileSync, expect: true },
    { title: `${label}: \`import { readFileSync } from 'fs'\`${variant === 'esm' ? '' : ' (fs_1.readFileSync)'} is the receiver's own`,
      name: name('namedBuiltinIdentity'),
      check: (f, { require }) => f() === require('fs').readFileSync, expect: true },
    { title: `${label}: named import of a package${variant === 'esm' ? '' : ' ((0, pk_cjs_1.greet)(x))'}`, name: name('named'), payload: noBig(1500),
      check: (f) => f('/dir/ann'), expect: 'hello ANN' },
    { title: `${label}: named import of package state is the receiver's own`, name: name('namedState'),
      check: (f, { require }) => f() === require('pk-cjs').registry, expect: true },
    ...(variant === 'plain' ? [] : [
      { title: `${label}: default import of a CommonJS package`, name: name('defaultImport'), payload: noBig(4000),
        check: (f) => f('def'), expect: 'hello DEF' }]),
    { title: `${label}: namespace import of a package`, name: name('namespaceImport'), payload: noBig(4000),
      check: (f) => f('ns'), expect: 'hello NS' },
    { title: `${label}: a package class`, name: name('usesClass'), check: (f) => f(), expect: 'widget:ts' },
    { title: `${label}: an exports map and its subpath`, name: name('exportsMap'), check: (f) => f(3), expect: ['[ 3 ]', '7'] },
    { title: `${label}: the program's own compiled file travels by value`, name: name('userFile'), check: (f) => f(3), expect: 15 },
    { title: `${label}: a namespace import does not carry the package's big member`, name: name('noBigMember'),
      payload: noBig(4000), check: (f) => f('b'), expect: 'hello B0' },
  ];
}

suite({
  producer: { packages: PACKAGES, files: { 'esbuild-out.cjs': 'compiled/esbuild-out.cjs' }, build, fixture: 'index.mjs' },
  consumers: { default: { packages: PACKAGES } },
}, [
  ...tsCases('interop'),
  ...tsCases('plain'),
  ...tsCases('esm'),
  { title: 'esbuild: `import_fs.readFileSync` called as (0, import_fs.readFileSync)(p)', name: 'esbuild_readsFile',
    check: (f, { entryDir }) => f(`${entryDir}/payload.bin`) > 0, expect: true },
  { title: 'esbuild: import_fs.readFileSync is the receiver\'s own', name: 'esbuild_namedBuiltinIdentity',
    check: (f, { require }) => f() === require('fs').readFileSync, expect: true },
  { title: 'esbuild: `__toESM(require(\'node:path\'))` namespace of a built-in', name: 'esbuild_namespaceBuiltin',
    check: (f) => f('/a/b.txt'), expect: 'b.txt' },
  { title: 'esbuild: a named import of a package through __toESM', name: 'esbuild_namedImport', payload: noBig(4000),
    check: (f) => f('es'), expect: 'hello ES' },
  { title: 'esbuild: the package member is the receiver\'s own', name: 'esbuild_namedImportIdentity',
    check: (f, { require }) => f() === require('pk-cjs').greet, expect: true },
  { title: 'esbuild: a default import through __toESM (import_pk_cjs.default.greet)', name: 'esbuild_defaultImport',
    payload: noBig(4000), check: (f) => f('d'), expect: 'hello D' },
  { title: 'esbuild: a namespace import through __toESM', name: 'esbuild_namespaceImport', payload: noBig(4000),
    check: (f) => f('n'), expect: 'hello N' },
  { title: 'esbuild: a plain require of a package with an exports map', name: 'esbuild_usesExportsMap',
    check: (f) => f(2), expect: '[ 2 ]' },
  { title: 'esbuild: a function using one member does not carry the package\'s big member', name: 'esbuild_noBigMember',
    payload: noBig(4000), check: (f) => f('q'), expect: 'hello Q' },
]);
