/**
 * The code cache of the parsers (src/util/code-cache.ts): V8 bytecode written by one process and run by the
 * next. Its bytes are executable, so it is read only from a directory that is this user's alone under
 * directories nobody else can change, only from private single-link files of this user's, and only when their
 * checksum holds; a damaged entry is written again; a changed source never reads the old entry. Every case
 * checks what the capture does in a fresh process, with or without the cache.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync, chownSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync,
  statSync, symlinkSync, utimesSync, writeFileSync,
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
async function capture(work, env, extraModule, { cwd, CHILD_CHDIR } = {}) {
  const out = join(work, `bytes-${Math.random().toString(36).slice(2)}.bin`);
  const { stdout } = await run(process.execPath, [CHILD, out, ...(extraModule ? [extraModule] : [])], {
    cwd, env: { ...process.env, PIKALA_CODE_CACHE: '', PIKALA_CACHE_DIR: '', CHILD_CHDIR: CHILD_CHDIR ?? '', ...env },
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

  test('the default directory is $XDG_CACHE_HOME/pikala/v8, or ~/.cache/pikala/v8 when that is not absolute', async () => {
    const xdg = join(work, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    const one = await capture(work, { XDG_CACHE_HOME: xdg });
    assert.ok(sameOutcome(one, 'miss'), JSON.stringify(one.outcomes));
    assert.equal(entries(join(xdg, 'pikala', 'v8')).length, PARSER_FILES.length);

    const home = join(work, 'home');
    mkdirSync(home, { mode: 0o700 });
    const two = await capture(work, { HOME: home, XDG_CACHE_HOME: 'relative/cache' });
    assert.ok(sameOutcome(two, 'miss'), JSON.stringify(two.outcomes));
    assert.equal(entries(join(home, '.cache', 'pikala', 'v8')).length, PARSER_FILES.length);
  });

  test('a relative PIKALA_CACHE_DIR is resolved once, against the working directory at import', async () => {
    const base = join(work, 'relative-base');
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(base, { mode: 0o700 });
    mkdirSync(elsewhere, { mode: 0o777 });
    chmodSync(elsewhere, 0o777);
    const report = await capture(work, { PIKALA_CACHE_DIR: 'rel-cache' }, undefined, { cwd: base, CHILD_CHDIR: elsewhere });
    assert.ok(sameOutcome(report, 'miss'), JSON.stringify(report.outcomes));
    assert.equal(entries(join(base, 'rel-cache')).length, PARSER_FILES.length);
    assert.equal(existsSync(join(elsewhere, 'rel-cache')), false);
  });

  test('PIKALA_CODE_CACHE=0 reads and writes nothing', async () => {
    const dir = join(work, 'off');
    const report = await capture(work, { PIKALA_CACHE_DIR: dir, PIKALA_CODE_CACHE: '0' });
    assert.deepEqual(report.outcomes, {});
    assert.equal(existsSync(dir), false);
  });

  test('an entry that fails its checksum is never given to V8, and is written again', async () => {
    const dir = join(work, 'corrupt');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    const damaged = new Map();
    for (const name of entries(dir)) {
      // The headers (pikala's and V8's) intact, the tail zeroed: what a power loss leaves; V8 alone would
      // run it or crash (it does not check its payload's checksum).
      const bytes = readFileSync(join(dir, name));
      bytes.fill(0, bytes.length >> 1);
      writeFileSync(join(dir, name), bytes);
      damaged.set(name, bytes);
    }
    const report = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(report, 'rejected'), JSON.stringify(report.outcomes));
    for (const [name, bytes] of damaged) assert.ok(!readFileSync(join(dir, name)).equals(bytes), `${name} rewritten`);
    assert.ok(sameOutcome(await capture(work, { PIKALA_CACHE_DIR: dir }), 'hit'));

    for (const name of entries(dir)) writeFileSync(join(dir, name), Buffer.alloc(statSync(join(dir, name)).size, 0x5a));
    assert.ok(sameOutcome(await capture(work, { PIKALA_CACHE_DIR: dir }), 'rejected'), 'garbage, header included');
  });

  test('a directory others can read or write, or one under such a directory, is not used', async () => {
    for (const [name, mode] of [['open', 0o777], ['group-writable', 0o770], ['group-readable', 0o750]]) {
      const dir = join(work, name);
      mkdirSync(dir);
      chmodSync(dir, mode);
      const report = await capture(work, { PIKALA_CACHE_DIR: dir });
      assert.ok(sameOutcome(report, 'off'), `${name}: ${JSON.stringify(report.outcomes)}`);
      assert.deepEqual(entries(dir), [], name);
    }
    // A private directory whose parent, or grandparent, anybody can write (and is not sticky, as /tmp is):
    // another account could rename a directory on the path away and put its own in its place.
    const shared = join(work, 'shared');
    mkdirSync(join(shared, 'mine', 'v8'), { recursive: true, mode: 0o700 });
    chmodSync(shared, 0o777);
    for (const dir of [join(shared, 'v8'), join(shared, 'mine', 'v8')]) {
      const report = await capture(work, { PIKALA_CACHE_DIR: dir });
      assert.ok(sameOutcome(report, 'off'), `${dir}: ${JSON.stringify(report.outcomes)}`);
      assert.deepEqual(existsSync(dir) ? entries(dir) : [], []);
    }
    // The same under a sticky directory is safe: others cannot rename or delete what they do not own.
    const sticky = join(work, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const report = await capture(work, { PIKALA_CACHE_DIR: join(sticky, 'v8') });
    assert.ok(sameOutcome(report, 'miss'), JSON.stringify(report.outcomes));
  });

  test('a link is followed once: to a private directory it is used, to an open one it is not', async () => {
    const real = join(work, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(work, 'link-to-private'));
    const report = await capture(work, { PIKALA_CACHE_DIR: join(work, 'link-to-private') });
    assert.ok(sameOutcome(report, 'miss'), JSON.stringify(report.outcomes));
    assert.equal(entries(real).length, PARSER_FILES.length);

    const open = join(work, 'open-target');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(open, join(work, 'link-to-open'));
    const viaLink = await capture(work, { PIKALA_CACHE_DIR: join(work, 'link-to-open') });
    assert.ok(sameOutcome(viaLink, 'off'), JSON.stringify(viaLink.outcomes));
    assert.deepEqual(entries(open), []);
  });

  test('an entry others can write, reached through a link, or with a second name is not read', async () => {
    const dir = join(work, 'odd-entries');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    const names = entries(dir);
    const keep = join(work, 'kept-entries');
    mkdirSync(keep);
    const [writable, linked, hardLinked] = names;
    chmodSync(join(dir, writable), 0o620);
    writeFileSync(join(keep, linked), readFileSync(join(dir, linked)));
    rmSync(join(dir, linked));
    symlinkSync(join(keep, linked), join(dir, linked));
    linkSync(join(dir, hardLinked), join(keep, hardLinked));
    const report = await capture(work, { PIKALA_CACHE_DIR: dir });
    const byEntry = Object.values(report.outcomes);
    assert.equal(byEntry.filter((o) => o === 'miss').length, 3, JSON.stringify(report.outcomes));
    assert.equal(byEntry.filter((o) => o === 'hit').length, 1, JSON.stringify(report.outcomes));
    for (const name of [writable, linked, hardLinked]) {
      const st = lstatSync(join(dir, name));
      assert.ok(st.isFile() && st.nlink === 1 && (st.mode & 0o777) === 0o600, `${name} replaced by a private file`);
    }
  });

  test('a directory or an entry owned by another account is not used', { skip: !isRoot && 'needs root to chown' }, async () => {
    const foreign = join(work, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    const report = await capture(work, { PIKALA_CACHE_DIR: foreign });
    assert.ok(sameOutcome(report, 'off'), JSON.stringify(report.outcomes));

    // Root's own directory inside another account's: that account could swap it.
    const theirs = join(work, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, 65534, 65534);
    const inside = await capture(work, { PIKALA_CACHE_DIR: join(theirs, 'v8') });
    assert.ok(sameOutcome(inside, 'off'), JSON.stringify(inside.outcomes));

    const dir = join(work, 'planted');
    await capture(work, { PIKALA_CACHE_DIR: dir });
    for (const name of entries(dir)) chownSync(join(dir, name), 65534, 65534);
    const planted = await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.ok(sameOutcome(planted, 'miss'), `entries of another account are not read: ${JSON.stringify(planted.outcomes)}`);
    for (const name of entries(dir)) assert.equal(statSync(join(dir, name)).uid, 0, `${name} replaced by this user's`);
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
    // Same length, other text, same second: V8 alone (it checks the source's length) would run the old bytecode.
    const was = statSync(mod);
    writeFileSync(mod, 'exports.answer = () => 42;\n');
    utimesSync(mod, was.atime, was.mtime);
    const three = await capture(work, { PIKALA_CACHE_DIR: dir }, mod);
    assert.equal(three.extra, 42);
    assert.equal(three.outcomes[mod], 'miss');
    const after = entries(dir);
    assert.equal(after.length, before.length, 'the entry of the old text is gone');
    assert.notDeepEqual(after, before);
  });

  test('files pikala names and nobody wrote for 30 days are removed when a process writes; nothing else is', async () => {
    const dir = join(work, 'aging');
    mkdirSync(dir, { mode: 0o700 });
    const hex = (c) => c.repeat(24);
    const old = join(dir, `${hex('a')}-${hex('b')}.v8cache`);
    const recent = join(dir, `${hex('c')}-${hex('d')}.v8cache`);
    const leftover = join(dir, `${hex('e')}-${hex('f')}.v8cache.0123456789abcdef.tmp`);
    const foreign = join(dir, 'thesis-draft.tmp');
    const foreignEntry = join(dir, 'notes.v8cache');
    for (const f of [old, recent, leftover, foreign, foreignEntry]) writeFileSync(f, 'x', { mode: 0o600 });
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    for (const f of [old, leftover, foreign, foreignEntry]) utimesSync(f, longAgo, longAgo);
    await capture(work, { PIKALA_CACHE_DIR: dir });
    assert.deepEqual([old, recent, leftover, foreign, foreignEntry].map(existsSync), [false, true, false, true, true]);
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
