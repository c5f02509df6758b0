/**
 * Loads the CommonJS packages pikala parses with (acorn, eslint-scope and what they require) through V8's code
 * cache, so a fresh process does not compile them again.
 *
 * Why: Node 20 has no compile cache (module.enableCompileCache is Node 22), and V8 compiles a function the first
 * time it is called. The first closure a process captured paid for V8 compiling the parsers' functions as they
 * were first called; with the bytecode V8 wrote after an earlier process used them, a first capture is 2–3.5 ms
 * faster. (Loading the packages costs ~8 ms either way: resolving them, reading 350 kB, running acorn's table
 * set-up.) Figures in docs/PERFORMANCE.md.
 *
 * Code-cache bytes are executable input, and V8 checks little of them: its version, its flags, the source's
 * length; a damaged payload behind an intact header crashes the process or runs. So:
 * - the directory must be this user's alone, and so must every directory above it (owned by this user or
 *   root, writable by nobody else unless sticky like /tmp): nobody else can then swap any part of the path.
 *   The path is resolved once (links and relative paths included) and only the resolved path is used after;
 * - an entry is read with O_NOFOLLOW, only from a regular file this user owns that nobody else can write and
 *   that has no other link, and it carries a SHA-256 of its bytes that is checked before V8 sees them (a torn
 *   or damaged entry is rewritten, never run);
 * - an entry's name holds the entry layout version and the wrapper, the source file's path, V8's version tag
 *   (version, flags, CPU features), Node's version, the architecture and a hash of the file's bytes: an
 *   updated package, another runtime or another wrapper never reads an old entry.
 * Anything else turns the cache off: the packages are then required as usual. The cache only ever saves time.
 *
 * PIKALA_CODE_CACHE=0 turns it off; PIKALA_CACHE_DIR sets the directory (default: $XDG_CACHE_HOME/pikala/v8
 * when XDG_CACHE_HOME is an absolute path, else ~/.cache/pikala/v8). Off on Windows, where there are no mode
 * bits to check.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, constants as fsConstants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  realpathSync, renameSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';
import { requireHere } from './here.cjs';

/** What happened to each file asked for through the cache (tests read it). */
export type CodeCacheOutcome = 'hit' | 'miss' | 'rejected' | 'off';

interface Entry {
  script: Script;
  /** Where its cache entry lives, and the prefix of every entry for this source path and runtime. */
  cacheFile: string;
  prefix: string;
  outcome: CodeCacheOutcome;
}

interface LoadedModule { exports: unknown }

const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n})';
/** The entry layout (its header below) and the wrapper: part of every entry's name. Change it with either. */
const LAYOUT = 'pikala-v8-entry-1';
const MAGIC = Buffer.from('PKLV8C01', 'latin1');
const HEADER = MAGIC.length + 32;
/** `<prefix>-<text hash>.v8cache` and its temporary files: the only names this module writes or deletes. */
const ENTRY_NAME = /^[0-9a-f]{24}-[0-9a-f]{24}\.v8cache$/;
const TEMP_NAME = /^[0-9a-f]{24}-[0-9a-f]{24}\.v8cache\.[0-9a-f]{16}\.tmp$/;
/** How long an entry is kept after it was written (see removeStale). */
const ENTRY_LIFETIME = 30 * 24 * 3600 * 1000;
/** The largest entry read back: a cache bigger than this is not ours (acorn's is ~150 kB). */
const MAX_ENTRY = 16 * 1024 * 1024;
/** The sticky bit (S_ISVTX; not in fs.constants). */
const STICKY = 0o1000;
const uid = process.platform !== 'win32' && typeof process.getuid === 'function' ? process.getuid() : null;

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
  const written: Entry[] = [];
  for (const e of entries) {
    if (e.outcome === 'hit') continue;
    const tmp = `${e.cacheFile}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      const data = e.script.createCachedData();
      writeFileSync(tmp, Buffer.concat([MAGIC, createHash('sha256').update(data).digest(), data]), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, e.cacheFile);
      written.push(e);
    } catch {
      // A full disk or a directory that went away: the next process compiles again, nothing else changes.
      try { unlinkSync(tmp); } catch { /* never made, or renamed */ }
    }
  }
  if (written.length !== 0) {
    try { removeStale(written); } catch { /* the directory went away */ }
  }
}

/** @internal How each file went (tests). */
export function codeCacheOutcomes(): ReadonlyMap<string, CodeCacheOutcome> {
  return outcomes;
}

function loadFile(file: string, dir: string): unknown {
  const done = modules.get(file);
  if (done) return done.exports;
  // The key hashes the file's bytes (hashing them is cheaper than hashing the decoded text again); the text
  // compiled is a function of them and of the wrapper, which LAYOUT names.
  const bytes = readFileSync(file);
  let source = bytes.toString('utf8');
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const text = WRAP_HEAD + source + WRAP_TAIL;
  const prefix = digest([LAYOUT, WRAP_HEAD, WRAP_TAIL, file, cachedDataVersionTag(), process.version, process.arch].join('\0'));
  const cacheFile = join(dir, `${prefix}-${digest(bytes)}.v8cache`);
  const stored = readEntry(cacheFile);
  const cachedData = stored === 'damaged' ? undefined : stored;
  const script = new Script(text, { filename: file, cachedData });
  const outcome: CodeCacheOutcome = stored === 'damaged' || script.cachedDataRejected ? 'rejected'
    : cachedData === undefined ? 'miss' : 'hit';
  entries.push({ script, cacheFile, prefix, outcome });
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

function digest(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 24);
}

/**
 * The cache directory, resolved once to a path without links, when it is this user's alone and every
 * directory above it is safe; created (0700) if missing. null when there is none to trust.
 */
function cacheDir(): string | null {
  if (dirChecked) return trustedDir;
  dirChecked = true;
  if (uid === null) return null;
  try {
    const configured = process.env.PIKALA_CACHE_DIR;
    const xdg = process.env.XDG_CACHE_HOME;
    const wanted = configured
      ? resolve(configured)
      : join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'pikala', 'v8');
    mkdirSync(wanted, { recursive: true, mode: 0o700 });
    const dir = realpathSync(wanted);
    if (isPrivateDir(dir) && ancestorsAreSafe(dir)) trustedDir = dir;
  } catch {
    trustedDir = null;
  }
  return trustedDir;
}

/** A directory owned by this user that nobody else can read or write. */
function isPrivateDir(dir: string): boolean {
  const st = lstatSync(dir);
  return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
}

/**
 * Whether nobody but this user and root can change what `dir`'s path leads to: every directory above it is
 * owned by this user or root, and writable by nobody else unless sticky (in /tmp, others cannot rename or
 * delete what they do not own). For root, that means root-owned all the way down.
 */
function ancestorsAreSafe(dir: string): boolean {
  for (let p = dirname(dir); ; p = dirname(p)) {
    const st = lstatSync(p);
    if (!st.isDirectory() || (st.uid !== uid && st.uid !== 0)) return false;
    if ((st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0) return false;
    if (dirname(p) === p) return true;
  }
}

/**
 * An entry's V8 bytes: undefined when there is none this process may read (missing, a link, another account's,
 * writable by others, hard-linked elsewhere), 'damaged' when its checksum does not match (torn or altered).
 */
function readEntry(path: string): Buffer | 'damaged' | undefined {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== uid || (st.mode & 0o022) !== 0 || st.nlink !== 1) return undefined;
    if (st.size <= HEADER || st.size > MAX_ENTRY) return 'damaged';
    const data = readFileSync(fd);
    const payload = data.subarray(HEADER);
    const sum = createHash('sha256').update(payload).digest();
    if (!data.subarray(0, MAGIC.length).equals(MAGIC) || !data.subarray(MAGIC.length, HEADER).equals(sum)) return 'damaged';
    return payload;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Deletes, among the files this module names (nothing else in the directory is touched): entries for the same
 * source path and runtime as one just written but made from another text (an updated package), and entries or
 * leftover temporary files not written for ENTRY_LIFETIME, so installs that come and go (temporary checkouts,
 * CI folders) do not leave ~200 kB each forever. An entry still in use that this removes is written again by
 * the next process that misses it. Entries of other Node versions stay otherwise: a machine may run several.
 * One pass over the directory for all the entries a process wrote.
 */
function removeStale(written: Entry[]): void {
  const dir = dirname(written[0]!.cacheFile);
  const keep = new Set(written.map((e) => e.cacheFile.slice(dir.length + 1)));
  const prefixes = written.map((e) => `${e.prefix}-`);
  const oldest = Date.now() - ENTRY_LIFETIME;
  for (const name of readdirSync(dir)) {
    const entry = ENTRY_NAME.test(name);
    if (keep.has(name) || !(entry || TEMP_NAME.test(name))) continue;
    const path = join(dir, name);
    try {
      if ((entry && prefixes.some((p) => name.startsWith(p))) || lstatSync(path).mtimeMs < oldest) unlinkSync(path);
    } catch { /* another process removed it first */ }
  }
}
