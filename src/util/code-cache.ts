/**
 * Loads the CommonJS packages pikala parses with (acorn, eslint-scope and what they require) through V8's code
 * cache, so a fresh process does not compile them again.
 *
 * Why: Node 20 has no compile cache (module.enableCompileCache is Node 22), and V8 compiles a function the first
 * time it is called. The first closure a process captured paid ~6 ms for the parsers' first run (acorn's and
 * eslint-scope's functions compiling as they were first called); with the bytecode V8 wrote after an earlier
 * process used them, that first run takes ~2 ms. (Loading them costs ~8 ms either way: resolving the packages,
 * reading 350 kB, running acorn's table set-up.) Figures in docs/PERFORMANCE.md.
 *
 * Code-cache bytes are executable input: V8 runs the bytecode it finds in them, and checks little more than
 * its own version, its flags and the source's length. So the cache is used only where nobody else can write:
 * a directory that this user owns and only this user can write (created 0700 when missing), in a parent
 * that others cannot rename it out of, read with O_NOFOLLOW from files this user owns. A shared or foreign
 * directory is never used (the cache is then simply off). An entry is named by the source file's path and
 * its identity on disk (inode, size, modification and change times), the V8 version tag (version, flags,
 * CPU features) and Node's version: a changed or reinstalled package, another Node or other V8 flags never
 * read an old entry. V8 rejecting an entry anyway means it is written again.
 *
 * PIKALA_CODE_CACHE=0 turns it off (the packages are then required as usual); PIKALA_CACHE_DIR sets the
 * directory (default: $XDG_CACHE_HOME/pikala/v8, else ~/.cache/pikala/v8). Any failure (read-only home, permission
 * model, a bundled build without the files) falls back to a plain require: the cache only ever saves time.
 */
import { createHash } from 'node:crypto';
import {
  closeSync, constants as fsConstants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  readSync, renameSync, statSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';
import { requireHere } from './here.cjs';

/** What happened to each file asked for through the cache (tests read it). */
export type CodeCacheOutcome = 'hit' | 'miss' | 'rejected' | 'off';

interface Entry {
  script: Script;
  /** Where its cache entry lives, and the prefix every entry for this source path and runtime starts with. */
  cacheFile: string;
  pathPrefix: string;
  outcome: CodeCacheOutcome;
}

interface LoadedModule { exports: unknown }

const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n})';
const ENTRY_SUFFIX = '.v8cache';
/** How long an entry is kept after it was written (see removeStale). */
const ENTRY_LIFETIME = 30 * 24 * 3600 * 1000;
/** The largest entry read back: a cache bigger than this is not ours (acorn's is ~150 kB). */
const MAX_ENTRY = 16 * 1024 * 1024;

const modules = new Map<string, LoadedModule>();
const entries: Entry[] = [];
const outcomes = new Map<string, CodeCacheOutcome>();
let dirChecked = false;
let trustedDir: string | null = null;
let saved = false;

/**
 * `require(id)` through the code cache when one can be used. `from` resolves `id`: pikala's own require, so
 * the packages are the ones installed with pikala (tests pass another).
 */
export function requireCached(id: string, from: NodeJS.Require = requireHere): unknown {
  if (process.env.PIKALA_CODE_CACHE === '0') return from(id);
  let file: string;
  try { file = from.resolve(id); } catch { return from(id); }
  const dir = cacheDir();
  if (dir === null) { outcomes.set(file, 'off'); return from(id); }
  try {
    return loadFile(file, dir);
  } catch {
    // Whatever failed (a file that vanished, a package that does not run this way), the usual loader is right.
    return from(id);
  }
}

/**
 * Writes the entries that were missing or rejected, once per process, after the packages have done real work
 * (V8 then includes the functions compiled since loading, which is most of what a first capture compiles).
 */
export function saveCodeCache(): void {
  if (saved) return;
  saved = true;
  for (const e of entries) {
    if (e.outcome === 'hit') continue;
    try {
      const data = e.script.createCachedData();
      const tmp = `${e.cacheFile}.${process.pid}-${threadId}.tmp`;
      writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, e.cacheFile);
      removeStale(e);
    } catch {
      // A full disk or a directory that went away: the next process compiles again, nothing else changes.
    }
  }
}

/** @internal How each file went (tests). */
export function codeCacheOutcomes(): ReadonlyMap<string, CodeCacheOutcome> {
  return outcomes;
}

function loadFile(file: string, dir: string): unknown {
  const done = modules.get(file);
  if (done) return done.exports;
  // The file's identity is read before and after its text: a file being replaced meanwhile gets no entry
  // (its bytecode could be filed under the identity of the other text).
  const identity = fileIdentity(file);
  let source = readFileSync(file, 'utf8');
  const stable = fileIdentity(file) === identity;
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const pathPrefix = digest([file, cachedDataVersionTag(), process.version, process.arch].join('\0'));
  const cacheFile = join(dir, `${pathPrefix}-${digest(identity)}${ENTRY_SUFFIX}`);
  const cachedData = stable ? readEntry(cacheFile) : undefined;
  const script = new Script(WRAP_HEAD + source + WRAP_TAIL, { filename: file, cachedData });
  const outcome: CodeCacheOutcome = cachedData === undefined ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  if (stable) entries.push({ script, cacheFile, pathPrefix, outcome });
  outcomes.set(file, outcome);

  const module: LoadedModule = { exports: {} };
  modules.set(file, module);
  const req = createRequire(file);
  const localRequire = Object.assign((request: string): unknown => {
    if (isBuiltin(request) || request.endsWith('.json')) return req(request);
    return loadFile(req.resolve(request), dir);
  }, { resolve: req.resolve });
  try {
    (script.runInThisContext() as Function).call(module.exports, module.exports, localRequire, module, file, dirname(file));
  } catch (e) {
    modules.delete(file);
    throw e;
  }
  return module.exports;
}

/** What changes when a file is rewritten, replaced or touched (a package reinstalled or updated). */
function fileIdentity(file: string): string {
  const st = statSync(file);
  return [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs].join('\0');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** The cache directory when it is this user's alone, creating it if needed; null when there is none to trust. */
function cacheDir(): string | null {
  if (dirChecked) return trustedDir;
  dirChecked = true;
  try {
    const configured = process.env.PIKALA_CACHE_DIR;
    const dir = configured
      ? configured
      : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pikala', 'v8');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isPrivateDir(dir) && parentKeepsIt(dirname(dir))) trustedDir = dir;
  } catch {
    trustedDir = null;
  }
  return trustedDir;
}

/** The sticky bit (S_ISVTX; not in fs.constants). */
const STICKY = 0o1000;
const uid = typeof process.getuid === 'function' ? process.getuid() : null;

/** A real directory (not a link), owned by this user, that nobody else can read or write. */
function isPrivateDir(dir: string): boolean {
  const st = lstatSync(dir);
  if (!st.isDirectory()) return false;
  if (uid === null) return true; // Windows: a profile directory's ACL is the user's; there are no mode bits to read.
  return st.uid === uid && (st.mode & 0o077) === 0;
}

/**
 * Whether the directory holding the cache lets nobody else replace it: owned by this user or root, and not
 * writable by others unless sticky (as /tmp is: others cannot rename what they do not own).
 */
function parentKeepsIt(parent: string): boolean {
  if (uid === null) return true;
  const st = statSync(parent);
  if (st.uid !== uid && st.uid !== 0) return false;
  return (st.mode & 0o022) === 0 || (st.mode & STICKY) !== 0;
}

/** An entry's bytes when it is a regular file of this user's (never through a link), else undefined. */
function readEntry(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0 || st.size > MAX_ENTRY) return undefined;
    if (uid !== null && (st.uid !== uid || (st.mode & 0o022) !== 0)) return undefined;
    const data = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < data.length) {
      const n = readSync(fd, data, at, data.length - at, at);
      if (n === 0) return undefined;
      at += n;
    }
    return data;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Deletes entries for the same source path and runtime made from an older copy of the file (a reinstalled or
 * updated package), and any entry or leftover temporary file not written for ENTRY_LIFETIME: installs that
 * come and go (temporary checkouts, CI folders) would otherwise leave ~200 kB each forever. An entry still in
 * use that this removes is written again by the next process that misses it. Entries of other Node versions
 * stay otherwise: a machine may run several.
 */
function removeStale(e: Entry): void {
  const dir = dirname(e.cacheFile);
  const keep = basename(e.cacheFile);
  const oldest = Date.now() - ENTRY_LIFETIME;
  for (const name of readdirSync(dir)) {
    if (name === keep || !(name.endsWith(ENTRY_SUFFIX) || name.endsWith('.tmp'))) continue;
    const path = join(dir, name);
    try {
      if ((name.startsWith(`${e.pathPrefix}-`) && name.endsWith(ENTRY_SUFFIX)) || lstatSync(path).mtimeMs < oldest) unlinkSync(path);
    } catch { /* another process removed it first */ }
  }
}
