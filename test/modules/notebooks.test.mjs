// Notebooks and the REPL (issue: modules, bullet 6): in tslab-style cells a shipped function takes only the
// members of the shared `exports` namespace it uses (not a big unrelated one), package members by reference;
// in a real Node REPL session, the user globals a function uses (top-level var and function) travel by value,
// package objects by reference. Both run next to node_modules holding the fake packages; the consumers run in
// another folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EOL } from 'node:os';
import { join } from 'node:path';
import { contains, MODULE_FIXTURES, ROOT, suite } from '../fixtures/modules/harness.mjs';

const lacks = (text, max) => (bytes) => {
  assert.ok(!contains(bytes, text), `the payload holds ${text}`);
  assert.ok(bytes.length < max, `payload is ${bytes.length} bytes`);
};

suite({
  producer: { packages: ['pk-cjs', 'pk-esm'], files: { 'notebook.mjs': 'notebooks/tslab.mjs' }, fixture: 'notebook.mjs' },
  consumers: { default: { packages: ['pk-cjs', 'pk-esm'] } },
}, [
  { title: 'tslab cells: a function using earlier cells\' names (exports.X) works and does not carry a big unrelated member',
    name: 'direct', payload: lacks('NOTEBOOK_BIG_MEMBER_', 4000), check: (f) => [f(2), f(5)], expect: ['hello 6', 'hello 15'] },
  { title: 'tslab cells: loading needs no __tslab__ namespace on the receiver and makes none', name: 'direct',
    check: (f) => typeof globalThis.__tslab__, expect: 'undefined' },
  { title: 'tslab cells: a function calling an earlier cell\'s function takes the members that one uses too', name: 'work',
    payload: lacks('NOTEBOOK_BIG_MEMBER_', 4000), check: (f) => [f(2), f(5)], expect: ['hello 6', 'hello 15'] },
  { title: 'tslab cells: a cell-local require result (pk_cjs_1.greet) travels by reference', name: 'localUse',
    payload: lacks('PK_CJS_BIG_TABLE_', 4000), check: (f) => f('/a/bo'), expect: 'hello BO' },
  { title: 'tslab cells: a function assigning a namespace member keeps its own copy of it', name: 'bump',
    check: (f) => [f(), f()], expect: [1, 2] },
  { title: 'tslab cells: two functions of one dump share the members they use', name: 'bumpAndRead',
    check: (v) => [v.bump(), v.bump(), v.read()], expect: [1, 2, 2] },
  { title: 'tslab cells: a built-in module kept as a namespace member is the receiver\'s own', name: 'pathUse',
    payload: lacks('NOTEBOOK_BIG_MEMBER_', 4000), check: (f) => f('/x/y.txt'), expect: 'y.txt' },
  { title: 'tslab cells: require at call time (__tslab__.require) resolves on the receiver', name: 'lazyRequire',
    check: (f) => f(), expect: 'hello LAZY' },
  { title: 'tslab cells: require at call time of an ES-module-only package', name: 'lazyRequireEsm',
    check: (f) => f(), expect: 'ESM!' },
]);

/** Types `input` into a real `node -i` session in `cwd`; resolves with its output once it exits. */
function replSession(input, cwd) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_REPL_HISTORY: '', NODE_NO_READLINE: '1' };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['-i'], { cwd, env });
    let output = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`REPL timed out:\n${output}`)); }, 60_000);
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', () => { clearTimeout(timer); resolve(output); });
    child.stdin.end(input);
  });
}

suite({
  producer: {
    packages: ['pk-cjs'],
    run: async (dir) => {
      const { loads } = await import(join(ROOT, 'dist/esm/index.js'));
      const out = join(dir, 'repl-payloads.bin');
      const input = readFileSync(join(MODULE_FIXTURES, 'notebooks/repl-input.txt'), 'utf8')
        .replaceAll('__PIKALA_CJS__', JSON.stringify(join(ROOT, 'dist/cjs/index.js'))).replaceAll('__OUT__', JSON.stringify(out));
      const output = await replSession(input, dir);
      assert.match(output, /REPL-DUMPED/, `the REPL session did not dump:\n${output}`);
      return loads(readFileSync(out));
    },
  },
  consumers: { default: { packages: ['pk-cjs'] } },
}, [
  { title: 'REPL: top-level var and function a function uses travel by value, a package object by reference',
    name: 'usesGlobals', payload: lacks('REPL_BIG_MEMBER_', 4000), check: (f) => [f(2), typeof globalThis.helper],
    expect: ['hello 6', 'undefined'] },
  { title: 'REPL: the REPL\'s require, used at call time, resolves on the receiver', name: 'usesRequire',
    check: (f) => f(), expect: 'hello R' },
  { title: 'REPL: a built-in module by its REPL global name (path) is the receiver\'s own', name: 'usesBuiltinGlobal',
    check: (f) => f('/a/b.txt'), expect: 'b.txt' },
  { title: 'REPL: a built-in module global already used in the session (os) is the receiver\'s own', name: 'usesBuiltinGlobalAfterUse',
    check: (f) => f('!'), expect: `${EOL.length}!` },
]);
