/**
 * The package as users get it: `npm pack`, installed into a fresh project, then loaded through `require` and
 * through `import` — each build reads what the other wrote — and type-checked from TypeScript.
 * Installing is offline (the tarball's only dependency, acorn, comes from the npm cache); without a cached
 * acorn the package is unpacked into node_modules by hand with acorn linked from this repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, tempDir } from '../harness/roundtrip.mjs';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

let dir, cleanup, project, installedWith;

/** Runs a file of the test project with node; returns its stdout parsed as JSON. */
async function node(file) {
  const { stdout } = await run(process.execPath, [file], { cwd: project, timeout: 30_000 });
  return JSON.parse(stdout);
}

/** Runs the repository's tsc on `files` of the test project (strict, NodeNext); resolves to { ok, output }. */
async function tsc(...files) {
  const config = `tsconfig.${files.join('+')}.json`;
  writeFileSync(join(project, config), JSON.stringify({
    compilerOptions: {
      strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true,
      skipLibCheck: false, types: [], // pikala's own declarations are checked too; it needs no @types/node
    },
    files,
  }));
  try {
    await run(process.execPath, [TSC, '-p', config], { cwd: project, timeout: 60_000 });
    return { ok: true, output: '' };
  } catch (e) {
    return { ok: false, output: `${e.stdout}${e.stderr}` };
  }
}

before(async () => {
  ({ dir, cleanup } = tempDir('pikala-package-'));
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000 });
  const tarball = join(dir, JSON.parse(stdout)[0].filename);
  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pikala-consumer', version: '1.0.0', private: true }));
  try {
    await run(NPM, ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], { cwd: project, timeout: 60_000 });
    installedWith = 'npm install --offline';
  } catch {
    const target = join(project, 'node_modules/pikala');
    mkdirSync(target, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], { timeout: 60_000 });
    symlinkSync(join(ROOT, 'node_modules/acorn'), join(project, 'node_modules/acorn'), 'dir');
    installedWith = 'tarball unpacked by hand, acorn linked';
  }
  writeFiles();
});

after(() => cleanup?.());

function writeFiles() {
  const files = {
    // One rich value; both builds must write the same bytes for it and read each other's.
    'value.cjs': `
      module.exports = function value() {
        const shared = { tag: 'shared' };
        const s = Symbol('unique');
        const root = {
          list: [1, , 'three', 4n, -0], map: new Map([[shared, new Set([s])]]), when: new Date(86400000),
          bytes: new Uint8Array([1, 2, 3]), err: Object.assign(new RangeError('bad'), { stack: 'RangeError: bad' }),
          shared, s, [s]: 'symbol-keyed', url: new URL('https://example.test/x?y=1'),
        };
        root.self = root;
        return root;
      };`,
    'check.cjs': `
      // What a loaded value must look like; returns the list of failures.
      module.exports = function check(v) {
        const bad = [];
        const t = (ok, what) => { if (!ok) bad.push(what); };
        t(v.self === v, 'cycle');
        t(v.list.length === 5 && !(1 in v.list) && v.list[3] === 4n && Object.is(v.list[4], -0), 'list');
        const [[k, set]] = v.map;
        t(k === v.shared && set.has(v.s) && v[v.s] === 'symbol-keyed', 'identity');
        t(v.when instanceof Date && v.when.getTime() === 86400000, 'date');
        t(v.bytes instanceof Uint8Array && v.bytes.join() === '1,2,3', 'bytes');
        t(v.err instanceof RangeError && v.err.message === 'bad' && v.err.stack === 'RangeError: bad', 'error');
        t(v.url instanceof URL && v.url.href === 'https://example.test/x?y=1', 'url');
        return bad;
      };`,
    'write.cjs': `
      const pikala = require('pikala');
      require('fs').writeFileSync('from-cjs.bin', pikala.dumps(require('./value.cjs')()));
      console.log(JSON.stringify({ resolved: require.resolve('pikala'), exports: Object.keys(pikala).sort() }));`,
    'write.mjs': `
      import { createRequire } from 'node:module';
      import { writeFileSync } from 'node:fs';
      import * as pikala from 'pikala';
      const value = createRequire(import.meta.url)('./value.cjs');
      writeFileSync('from-esm.bin', pikala.dumps(value()));
      console.log(JSON.stringify({ resolved: import.meta.resolve('pikala'), exports: Object.keys(pikala).sort() }));`,
    'read.cjs': `
      const { loads, dumps, PikalaError } = require('pikala');
      const fs = require('fs');
      let error;
      try { loads(Uint8Array.of(1, 2, 3)); } catch (e) { error = { isPikalaError: e instanceof PikalaError, code: e.code }; }
      let unsupported;
      try { dumps({ w: new WeakRef({}) }); } catch (e) { unsupported = { isPikalaError: e instanceof PikalaError, code: e.code, path: e.path }; }
      console.log(JSON.stringify({ failures: require('./check.cjs')(loads(fs.readFileSync('from-esm.bin'))), error, unsupported }));`,
    'read.mjs': `
      import { createRequire } from 'node:module';
      import { readFileSync } from 'node:fs';
      import { loads, dumps, PikalaError } from 'pikala';
      const check = createRequire(import.meta.url)('./check.cjs');
      let error;
      try { loads(Uint8Array.of(1, 2, 3)); } catch (e) { error = { isPikalaError: e instanceof PikalaError, code: e.code }; }
      let unsupported;
      try { dumps({ w: new WeakRef({}) }); } catch (e) { unsupported = { isPikalaError: e instanceof PikalaError, code: e.code, path: e.path }; }
      console.log(JSON.stringify({ failures: check(loads(readFileSync('from-cjs.bin'))), error, unsupported }));`,
    'uses-esm.mts': `
      import { dumps, loads, PikalaError, type DumpOptions, type LoadOptions, type PikalaErrorCode } from 'pikala';
      const dumpOptions: DumpOptions = { key: 'secret' };
      const loadOptions: LoadOptions = { key: new Uint8Array([1]), allowCode: false, resolveFrom: '/tmp' };
      const bytes: Uint8Array = dumps({ a: 1 }, dumpOptions);
      const value = loads<{ a: number }>(bytes, loadOptions);
      const a: number = value.a;
      const unknownValue: unknown = loads(bytes);
      try { loads(new Uint8Array(0)); } catch (e) {
        if (e instanceof PikalaError) { const code: PikalaErrorCode = e.code; const path: string | undefined = e.path; void code; void path; }
      }
      void a; void unknownValue;`,
    'uses-cjs.cts': `
      import { dumps, loads, PikalaError } from 'pikala';
      const bytes: Uint8Array = dumps(new Map([[1, 2]]));
      const m = loads<Map<number, number>>(bytes);
      const n: number | undefined = m.get(1);
      const e: PikalaError | undefined = undefined;
      void n; void e;`,
    'wrong.mts': `
      import { dumps, loads } from 'pikala';
      const s: string = dumps(1);                 // dumps returns a Uint8Array
      loads('not bytes');                         // loads takes a Uint8Array
      dumps(1, { key: 42 });                      // a key is a string or bytes
      void s;`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
}

describe('the installed package', () => {
  test('installs from the packed tarball with its files', (t) => {
    t.diagnostic(`installed with: ${installedWith}`);
    const pkg = join(project, 'node_modules/pikala');
    assert.ok(!realpathSync(pkg).startsWith(realpathSync(ROOT)), 'pikala must come from the tarball, not this repository');
    for (const f of ['package.json', 'dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']) {
      assert.ok(existsSync(join(pkg, f)), `${f} is in the package`);
    }
    assert.equal(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).name, 'pikala');
  });

  test('require and import both load it, from its own files', async () => {
    const cjs = await node('write.cjs');
    const esm = await node('write.mjs');
    assert.match(cjs.resolved, /node_modules[\\/]pikala[\\/]dist[\\/]cjs[\\/]index\.js$/);
    assert.match(esm.resolved, /node_modules\/pikala\/dist\/esm\/index\.js$/);
    for (const name of ['dumps', 'loads', 'PikalaError']) {
      assert.ok(cjs.exports.includes(name), `require('pikala').${name}`);
      assert.ok(esm.exports.includes(name), `import { ${name} } from 'pikala'`);
    }
  });

  test('both builds write the same bytes', () => {
    assert.deepEqual(readFileSync(join(project, 'from-cjs.bin')), readFileSync(join(project, 'from-esm.bin')));
  });

  test('the CommonJS build loads what the ES module build wrote', async () => {
    const r = await node('read.cjs');
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.error, { isPikalaError: true, code: 'PIKALA_CORRUPT' });
    assert.deepEqual(r.unsupported, { isPikalaError: true, code: 'PIKALA_UNSUPPORTED', path: 'root.w' });
  });

  test('the ES module build loads what the CommonJS build wrote', async () => {
    const r = await node('read.mjs');
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.error, { isPikalaError: true, code: 'PIKALA_CORRUPT' });
    assert.deepEqual(r.unsupported, { isPikalaError: true, code: 'PIKALA_UNSUPPORTED', path: 'root.w' });
  });

  // One tsc run over good and wrong files: the good ones must have no error, the wrong one its three.
  let checked;
  const typeCheck = () => (checked ??= tsc('uses-esm.mts', 'uses-cjs.cts', 'wrong.mts'));

  test('TypeScript type-checks code using it, from import and from require', async () => {
    const r = await typeCheck();
    assert.ok(existsSync(join(project, 'node_modules/pikala/dist/esm/index.d.ts')));
    assert.doesNotMatch(r.output, /uses-(esm|cjs)|node_modules[\\/]pikala/, r.output);
  });

  test('TypeScript rejects wrong uses (the types are real, not any)', async () => {
    const r = await typeCheck();
    assert.equal(r.ok, false);
    for (const line of [3, 4, 5]) assert.match(r.output, new RegExp(`wrong\\.mts\\(${line},`), `an error on line ${line}:\n${r.output}`);
  });
});
