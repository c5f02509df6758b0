// On the receiver (issue: modules, bullets 4-5): by-reference modules resolve as the loading application would
// import them — from its entry script's folder, else the working directory, or from loads(b, { resolveFrom }) —
// never from pikala's own install location (the repository, whose node_modules holds lodash). Package name and
// version are recorded at dump time: a missing package fails with PIKALA_MODULE_NOT_FOUND naming both, another
// version warns (PIKALA_MODULE_VERSION, both versions named), versionMismatch: 'error' makes it an error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, suite } from '../fixtures/modules/harness.mjs';

const LODASH = JSON.parse(readFileSync(join(ROOT, 'node_modules/lodash/package.json'), 'utf8')).version;
const PRODUCER = {
  packages: ['pk-ver-1', 'pk-cjs', 'pk-esm', 'pk-uses', { pkg: 'pk-ver-2', under: 'pk-uses' }, { real: 'lodash' }],
  files: { 'index.mjs': 'resolution/index.mjs', 'main.cjs': 'resolution/main.cjs' },
  fixture: 'index.mjs',
};
/** A message naming pk-ver and both its versions. */
const BOTH_VERSIONS = /^(?=.*pk-ver)(?=.*\b1\.0\.0\b)(?=.*\b2\.0\.0\b)/s;

suite({
  producer: PRODUCER,
  consumers: {
    entryWins: { packages: ['pk-ver-1', 'pk-cjs'], cwd: { packages: ['pk-ver-2', 'pk-cjs'] } },
    noEntry: { noEntry: true, cwd: { packages: ['pk-ver-1', 'pk-cjs'] } },
    argvIsNotAnEntry: {
      noEntry: true, cwd: { packages: ['pk-ver-1'] }, dirs: { other: ['pk-ver-2'] },
      argv: (dirs) => { const f = join(dirs.other, 'input.txt'); writeFileSync(f, 'data'); return [f]; },
    },
    resolveFrom: { packages: ['pk-ver-2'], dirs: { other: ['pk-ver-1', 'pk-cjs'] } },
    bare: { packages: [] },
    otherVersion: { packages: ['pk-ver-2'] },
    sameTree: { packages: ['pk-ver-1', 'pk-uses', { pkg: 'pk-ver-2', under: 'pk-uses' }] },
  },
}, [
  // where references resolve
  { title: 'resolves from the entry script\'s folder, not the working directory', name: 'versioned', consumer: 'entryWins',
    check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'a shipped require function resolves from the entry script\'s folder', name: 'requireFunction', consumer: 'entryWins',
    check: (f, { entryDir, cwd }) => [f().resolve('pk-ver').startsWith(entryDir), f().resolve('pk-ver').startsWith(cwd)],
    expect: [true, false] },
  { title: 'dynamic import() in a shipped function resolves from the entry script\'s folder', name: 'dynamicImport',
    consumer: 'entryWins', check: async (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'without an entry script (node -e), resolves from the working directory', name: 'versioned', consumer: 'noEntry',
    check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'without an entry script, a shipped require function resolves from the working directory', name: 'requireFunction',
    consumer: 'noEntry', check: (f, { cwd }) => f().resolve('pk-cjs').startsWith(cwd), expect: true },
  { title: 'without an entry script, a command-line argument naming a file is not taken for the entry script',
    name: 'versioned', consumer: 'argvIsNotAnEntry', check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'loads(b, { resolveFrom: folder }) overrides the entry script\'s folder', name: 'versioned', consumer: 'resolveFrom',
    loadOptions: (ctx) => ({ resolveFrom: ctx.dirs.other }), check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'resolveFrom may name a file of the folder', name: 'greets', consumer: 'resolveFrom',
    loadOptions: (ctx) => ({ resolveFrom: `${ctx.dirs.other}/app.js` }), check: (f) => f('f'), expect: 'hello F' },
  { title: 'resolveFrom may be a file: URL', name: 'versioned', consumer: 'resolveFrom',
    loadOptions: (ctx) => ({ resolveFrom: `file://${ctx.dirs.other}/` }), check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'a shipped require function resolves from resolveFrom', name: 'requireFunction', consumer: 'resolveFrom',
    loadOptions: (ctx) => ({ resolveFrom: ctx.dirs.other }),
    check: (f, { dirs }) => f().resolve('pk-ver').startsWith(dirs.other), expect: true },
  { title: 'require at call time in a shipped function follows resolveFrom', name: 'requireAtCallTime', consumer: 'resolveFrom',
    loadOptions: (ctx) => ({ resolveFrom: ctx.dirs.other }), check: (f) => f(), expect: 'pk-ver 1.0.0' },
  { title: 'dynamic import() in a shipped function follows resolveFrom like require does', name: 'dynamicImport',
    consumer: 'resolveFrom', loadOptions: (ctx) => ({ resolveFrom: ctx.dirs.other }), check: async (f) => f(),
    expect: 'pk-ver 1.0.0' },
  { title: 'never from pikala\'s own install location: lodash next to pikala does not count', name: 'usesLodash', consumer: 'bare',
    loadError: { code: 'PIKALA_MODULE_NOT_FOUND', message: new RegExp(`lodash.*${LODASH.replaceAll('.', '\\.')}`, 's') } },

  // versions recorded at dump time
  { title: 'a missing package fails with PIKALA_MODULE_NOT_FOUND naming the package and its version', name: 'versioned',
    consumer: 'bare', loadError: { code: 'PIKALA_MODULE_NOT_FOUND', message: /pk-ver.*1\.0\.0/s } },
  { title: 'a missing ES-module-only package imported by an ES module: its name and version', name: 'esmImport',
    consumer: 'bare', loadError: { code: 'PIKALA_MODULE_NOT_FOUND', message: /pk-esm.*3\.1\.0/s } },
  { title: 'another version loads, with a PIKALA_MODULE_VERSION warning naming both versions', name: 'versioned',
    consumer: 'otherVersion', warnings: [{ code: 'PIKALA_MODULE_VERSION', message: BOTH_VERSIONS }],
    check: (f) => f(), expect: 'pk-ver 2.0.0' },
  { title: 'versionMismatch: \'error\' makes another version a PIKALA_MODULE_VERSION error naming both', name: 'versioned',
    consumer: 'otherVersion', loadOptions: { versionMismatch: 'error' },
    loadError: { code: 'PIKALA_MODULE_VERSION', message: BOTH_VERSIONS } },
  { title: 'versionMismatch: \'ignore\' loads another version without a warning', name: 'versioned', consumer: 'otherVersion',
    loadOptions: { versionMismatch: 'ignore' }, check: (f) => f(), expect: 'pk-ver 2.0.0' },
  { title: 'a nested dependency (node_modules/pk-uses/node_modules/pk-ver) resolves as on the producer, with the same tree',
    name: 'nestedDependency', consumer: 'sameTree', check: (f) => f(), expect: 'pk-ver 2.0.0' },
]);

// The producer's entry script is not next to the project's node_modules (a CLI, a test runner, a notebook kernel).
suite({
  producer: { ...PRODUCER, entry: 'elsewhere' },
  consumers: { bare: { packages: [] } },
}, [
  { title: 'producer entry elsewhere: a CommonJS package\'s version is the one the program loaded', name: 'versioned',
    consumer: 'bare', loadError: { code: 'PIKALA_MODULE_NOT_FOUND', message: /pk-ver.*1\.0\.0/s } },
  { title: 'producer entry elsewhere: an imported ES-module-only package\'s version is the one the program loaded',
    name: 'esmImport', consumer: 'bare', loadError: { code: 'PIKALA_MODULE_NOT_FOUND', message: /pk-esm.*3\.1\.0/s } },
]);
