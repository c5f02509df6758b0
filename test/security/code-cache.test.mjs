/**
 * The code cache of the parsers (src/util/code-cache.ts): V8 bytecode written by one process and run by the
 * next. Its bytes are executable, so it is read only from a directory that is this user's alone, and never
 * through a link or from a file someone else owns; an entry V8 rejects is written again; a changed source never
 * reads the old entry. Every case checks what the capture does in a fresh process, with or without the cache.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { dumps, loads } from '../../dist/esm/index.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./code-cache-child.mjs', import.meta.url));
const PARSER_FILES = ['acorn/dist/acorn.js', 'eslint-scope/dist/eslint-scope.cjs', 'esrecurse/esrecurse.js', 'estraverse/estraverse.js'];
const isRoot = process.getuid?.() === 0;

/** Runs the child with `env`; returns its report and checks the closure it captured works here. */
async function capture(work, env, extraModule) {
  const out = join(work, `bytes-${Math.random().toString(36).slice(2)}.bin`);
  const { stdout } = await run(process.execPath, [CHILD, out, ...(extraModule ? [extraModule] : [])], {
    env: { ...process.env, PIKALA_CODE_CACHE: '', PIKALA_CACHE_DIR: '', ...env },
  });
  const scale = loads(readFileSync(out));
  assert.deepEqual(scale([1, 2]), [3, 6], 'the closure captured in that process works');
  return JSON.parse(stdout);
}

/** Whether every parser file went `outcome` (with the cache off, only the two pikala requires are asked). */
function sameOutcome(report, outcome) {
  const files = outcome === 'off' ? PARSER_FILES.slice(0, 2) : PARSER_FILES;
  return files.every((f) => report.outcomes[f] === outcome);
}

const entries = (dir) => readdirSync(dir).filter((n) => n.endsWith('.v8cache')).sort();

describe('code cache of the parsers', () => {
  let work;
  test.before(() => { work = mkdtempSync(join(tmpdir(), 'pikala-cc-')); });
  test.after(() => rmSync(work, { recursive: true, force: true }));

  test('the first process writes a private cache, the next runs from it', async () => {
    const dir = join(work, 'first', 'v8');
    const one = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(one, 'miss'), JSON.stringify(one.outcomes));
    assert.equal(statSync(dir).mode & 0o777, 0o700, 'created for this user only');
    assert.equal(entries(dir).length, PARSER_FILES.length);
    for (const name of entries(dir)) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600);
    const two = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(two, 'hit'), JSON.stringify(two.outcomes));
  });

  test('the default directory is $XDG_CACHE_HOME/pikala/v8', async () => {
    const xdg = join(work, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    const one = await capture(work, { XDG_CACHE_HOME: xdg });
    assert.ok(sameOutcome(one, 'miss'), JSON.stringify(one.outcomes));
    assert.equal(entries(join(xdg, 'pikala', 'v8')).length, PARSER_FILES.length);
  });

  test('PIKALA_CODE_CACHE=0 reads and writes nothing', async () => {
    const dir = join(work, 'off');
    const report = await capture(work, { PIKALA_CACHE_DIR: dir, PIKALA_CODE_CACHE: '0' });
    assert.deepEqual(report.outcomes, {});
    assert.equal(existsSync(dir), false);
  });

  test('an entry V8 rejects (corrupted) is not run, and is written again', async () => {
    const dir = join(work, 'corrupt');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    for (const name of entries(dir)) {
      const p = join(dir, name);
      const garbage = Buffer.alloc(statSync(p).size, 0x5a);
      writeFileSync(p, garbage);
    }
    const report = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(report, 'rejected'), JSON.stringify(report.outcomes));
    for (const name of entries(dir)) assert.notEqual(readFileSync(join(dir, name))[0], 0x5a, `${name} rewritten`);
    assert.ok(sameOutcome(await capture(work, { PIKALA_CACHE_DIR: dir }), 'hit'));
  });

  test('a directory others can write, or a link to one, is not used', async () => {
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const report = await capture(work, { PIKALA_CACHE_DIR: open });
    assert.ok(sameOutcome(report, 'off'), JSON.stringify(report.outcomes));
    assert.deepEqual(entries(open), []);

    const real = join(work, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(work, 'link');
    symlinkSync(real, link);
    const viaLink = await capture(work, { PIKALA_CACHE_DIR: link });
    assert.ok(sameOutcome(viaLink, 'off'), JSON.stringify(viaLink.outcomes));
    assert.deepEqual(entries(real), []);

    // A private directory inside a directory anybody can write (and that is not sticky, as /tmp is): another
    // account could rename it away and put its own in its place.
    const shared = join(work, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const inside = join(shared, 'v8');
    const report2 = await capture(work, { PIKALA_CACHE_DIR: inside });
    assert.ok(sameOutcome(report2, 'off'), JSON.stringify(report2.outcomes));
    assert.deepEqual(entries(inside), []);
  });

  test('a directory or an entry owned by another account is not used', { skip: !isRoot && 'needs root to chown' }, async () => {
    const foreign = join(work, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    const report = await capture(work, { PIKALA_CACHE_DIR: foreign });
    assert.ok(sameOutcome(report, 'off'), JSON.stringify(report.outcomes));

    const dir = join(work, 'planted');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    for (const name of entries(dir)) chownSync(join(dir, name), 65534, 65534);
    const planted = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(planted, 'miss'), `entries of another account are not read: ${JSON.stringify(planted.outcomes)}`);
    for (const name of entries(dir)) assert.equal(statSync(join(dir, name)).uid, 0, `${name} replaced by this user's`);
  });

  test('an entry reached through a link is not read', async () => {
    const dir = join(work, 'linked-entry');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    const keep = join(work, 'kept-entries');
    mkdirSync(keep);
    for (const name of entries(dir)) {
      writeFileSync(join(keep, name), readFileSync(join(dir, name)));
      rmSync(join(dir, name));
      symlinkSync(join(keep, name), join(dir, name));
    }
    const report = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(report, 'miss'), JSON.stringify(report.outcomes));
  });

  test('a changed source file never reads the old entry, and the old entry is removed', async () => {
    const dir = join(work, 'changing');
    const mod = join(work, 'changing-module.cjs');
    writeFileSync(mod, 'exports.answer = () => 41;\n');
    const one = await capture(work, { PIKALA_CACHE_DIR: dir }, mod);
    assert.equal(one.extra, 41);
    assert.equal(one.outcomes[mod], 'miss');
    const two = await capture(work, { PIKALA_CACHE_DIR: dir }, mod);
    assert.equal(two.outcomes[mod], 'hit');
    const before = entries(dir);
    // Same length, other text: V8 alone (it checks the source's length) would run the old bytecode.
    writeFileSync(mod, 'exports.answer = () => 42;\n');
    const three = await capture(work, { PIKALA_CACHE_DIR: dir }, mod);
    assert.equal(three.extra, 42);
    assert.equal(three.outcomes[mod], 'miss');
    const after = entries(dir);
    assert.equal(after.length, before.length, 'the entry of the old text is gone');
    assert.notDeepEqual(after, before);
  });

  test('entries nobody wrote for 30 days are removed when a process writes one', async () => {
    const dir = join(work, 'aging');
    mkdirSync(dir, { mode: 0o700 });
    const old = join(dir, 'abandoned-install-0123.v8cache');
    const recent = join(dir, 'other-install-4567.v8cache');
    const leftover = join(dir, 'crashed-writer.v8cache.123-0.tmp');
    for (const f of [old, recent, leftover]) writeFileSync(f, 'x', { mode: 0o600 });
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    utimesSync(old, longAgo, longAgo);
    utimesSync(leftover, longAgo, longAgo);
    await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.equal(existsSync(old), false);
    assert.equal(existsSync(leftover), false);
    assert.equal(existsSync(recent), true);
  });

  test('an unwritable directory costs nothing but the cache', { skip: isRoot && 'root writes anywhere' }, async () => {
    const dir = join(work, 'readonly');
    mkdirSync(dir, { mode: 0o500 });
    const report = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(report, 'miss'), JSON.stringify(report.outcomes));
    assert.deepEqual(entries(dir), []);
  });
});

describe('without the parsers', () => {
  test('without the parsers installed, data and shipped code still load, and a capture fails with PIKALA_CAPTURE', async () => {
    // A copy of the build with no node_modules anywhere above it: what a bundle that left them out looks like.
    const work = mkdtempSync(join(tmpdir(), 'pikala-no-deps-'));
    try {
      cpSync(fileURLToPath(new URL('../../dist', import.meta.url)), join(work, 'dist'), { recursive: true });
      class Counter { #n = 1; x = 2; get n() { return this.#n; } }
      const k = 3;
      writeFileSync(join(work, 'shipped.bin'), dumps({ times: (x) => x * k, counter: new Counter(), Counter }));
      for (const flavour of ['esm', 'cjs']) {
        const entry = join(work, 'dist', flavour, 'index.js');
        const script = flavour === 'esm'
          ? `import { dumps, loads } from ${JSON.stringify(pathToFileURL(entry).href)}; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`
          : `const { dumps, loads } = require(${JSON.stringify(entry)});`;
        const body = `
          const data = loads(dumps({ n: 1, s: new Set([2]) }));
          const shipped = loads(require('node:fs').readFileSync('shipped.bin'));
          const code = [shipped.times(2), shipped.counter.n, shipped.counter instanceof shipped.Counter];
          let error;
          const k = 2;
          try { dumps((x) => x * k); } catch (e) { error = { name: e.name, code: e.code, message: e.message }; }
          process.stdout.write(JSON.stringify({ n: data.n, s: [...data.s], code, error }));`;
        const { stdout } = await run(process.execPath, [...(flavour === 'esm' ? ['--input-type=module'] : []), '-e', script + body], {
          cwd: work, env: { ...process.env, PIKALA_CACHE_DIR: join(work, 'c') },
        });
        const out = JSON.parse(stdout);
        assert.deepEqual([out.n, out.s], [1, [2]], `${flavour}: data travels`);
        assert.deepEqual(out.code, [6, 1, true], `${flavour}: a closure, a class and its instance load`);
        assert.equal(out.error?.name, 'PikalaError', `${flavour}: ${JSON.stringify(out.error)}`);
        assert.equal(out.error.code, 'PIKALA_CAPTURE');
        assert.match(out.error.message, /acorn and eslint-scope.*install pikala with its dependencies/);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
