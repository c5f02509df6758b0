#!/usr/bin/env node
/**
 * pikala benchmark runner.
 *
 *   npm run bench                                  full suite: 5 fresh processes, every payload, every library
 *   node bench/run.mjs --runs 3 --payloads a,d --libs pikala,v8,msgpackr
 *   node bench/run.mjs --quick                     smoke mode (small payloads, 1 process, 1 round; no installs)
 *   node bench/run.mjs --report bench/results/latest.json [--write-doc]   re-print (and document) saved results
 *
 * Flags: --runs N (5) --rounds N (7) --min-sample-ms N (40) --scale X (1) --payloads a,b,c,d,e,f1,f2,f3
 *        --libs pikala,JSON,v8,msgpackr,msgpackr-SC,cbor-x,cbor-x-SC,seroval,devalue,superjson,pulumi
 *        --out FILE (bench/results/latest.json; --quick writes nothing unless given) --write-doc (docs/PERFORMANCE.md)
 *        --no-install (never run npm ci in bench/) --no-cold (skip the fresh-process cold runs of (f))
 *        --no-gc (no forced gc() before samples: steady state without major GCs, a diagnostic, not the method)
 *        --ref REV (measure a clean build of that commit: git archive into a temporary folder, then build it)
 *        --pikala PATH (measure another pikala build's ESM entry; default dist/esm)
 *        --label TEXT (what was measured, for the report; default: the git commit of the working tree)
 * The markdown table goes to stdout; progress goes to stderr. Method: bench/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// --pikala / --ref must take effect before lib/libs.mjs reads the entry (children inherit it through the environment).
const argAt = (name) => {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : process.argv[i + 1];
};
let snapshotDir = null;
let snapshotLabel = null;
if (argAt('pikala')) process.env.PIKALA_BENCH_ENTRY = resolve(argAt('pikala'));
else if (argAt('ref')) ({ snapshotDir, snapshotLabel } = buildSnapshot(argAt('ref')));

/**
 * Builds a clean snapshot of a commit (git archive → temporary folder → the repository's build script) so a
 * benchmark measures exactly that commit, whatever the shared working tree holds.
 */
function buildSnapshot(ref) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
  const rev = git('rev-parse', '--short', `${ref}^{commit}`);
  const dir = mkdtempSync(join(os.tmpdir(), `pikala-${rev}-`));
  const tar = spawnSync('sh', ['-c', `git archive --format=tar ${rev} | tar -x -C "${dir}"`], { cwd: root, stdio: ['ignore', 2, 2] });
  if (tar.status !== 0) throw new Error(`git archive ${ref} failed`);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  process.stderr.write(`building a snapshot of ${ref} (${rev}) in ${dir}\n`);
  execFileSync(process.execPath, [join(dir, 'scripts/build.mjs')], { cwd: dir, stdio: ['ignore', 2, 2] });
  process.env.PIKALA_BENCH_ENTRY = join(dir, 'dist/esm/index.js');
  return { snapshotDir: dir, snapshotLabel: `pikala ${rev} (${ref}, clean snapshot)` };
}
const { BENCH_DIR, BUILTIN_LIBS, LIB_NAMES, PIKALA_ENTRY, ROOT_DIR, loadLibs } = await import('./lib/libs.mjs');
const { ALL_IDS } = await import('./lib/payloads.mjs');
const { aggregate, evaluateTargets, renderTables, writeDoc } = await import('./lib/report.mjs');

const SELF = fileURLToPath(import.meta.url);
export const DEFAULT_OUT = join(BENCH_DIR, 'results/latest.json');
export const DOC_FILE = join(ROOT_DIR, 'docs/PERFORMANCE.md');
const CHILD_FLAGS = ['--expose-gc', '--max-old-space-size=4096'];

/** One run's results from the processes it was split into: per payload, the libraries of each. */
function mergeRuns(parts) {
  const merged = { ...parts[0], results: {} };
  for (const part of parts) {
    for (const [id, entry] of Object.entries(part.results)) {
      const into = merged.results[id];
      if (into === undefined) merged.results[id] = { ...entry, libs: { ...entry.libs } };
      else Object.assign(into.libs, entry.libs);
    }
  }
  return merged;
}

function parseArgs(argv) {
  const o = { flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2);
    const boolean = ['quick', 'write-doc', 'no-install', 'no-cold', 'no-gc', 'child', 'cold-dump', 'cold-load', 'help', 'text'];
    if (boolean.includes(k)) o.flags.add(k);
    else o[k] = inline ?? argv[++i];
  }
  return o;
}

const list = (s, all, what) => {
  if (!s) return all;
  const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of xs) if (!all.includes(x)) throw new Error(`unknown ${what} "${x}"; known: ${all.join(', ')}`);
  return all.filter((x) => xs.includes(x));
};

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? 'unknown CPU').trim(),
    cores: cpus.length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** Installs bench's peers from the committed lockfile (npm registry only; no install scripts run). */
function ensurePeers() {
  if (existsSync(join(BENCH_DIR, 'node_modules'))) return;
  log('bench/node_modules is missing: installing the peer libraries (npm ci --prefix bench --ignore-scripts)...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--prefix', BENCH_DIR, '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) log('warning: installing bench peers failed; continuing with the built-in libraries only (pikala, JSON, v8).');
}

function gitLabel() {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `pikala ${rev}${dirty ? ' + uncommitted src changes' : ''}`;
  } catch {
    return 'pikala (no git)';
  }
}

function runNode(args, timeoutMs) {
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 2, 2], timeout: timeoutMs, cwd: ROOT_DIR });
  if (r.error) throw r.error;
  return r.status;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.flags.has('help')) {
    process.stdout.write(readFileSync(SELF, 'utf8').split('\n').slice(2, 15).map((l) => l.replace(/^ \*\/?\s?/, '')).join('\n') + '\n');
    return;
  }
  // ---- internal child modes
  if (o.flags.has('child') || o.flags.has('cold-dump') || o.flags.has('cold-load')) {
    const child = await import('./lib/child.mjs');
    const cfg = JSON.parse(o.config);
    if (o.flags.has('child')) await child.runChild(cfg);
    else if (o.flags.has('cold-dump')) await child.runColdDump(cfg);
    else await child.runColdLoad(cfg);
    return;
  }
  // ---- re-print saved results
  if (o.report) {
    const summary = JSON.parse(readFileSync(resolve(o.report), 'utf8'));
    summary.targets = evaluateTargets(summary); // re-evaluated, so the current target definitions apply
    process.stdout.write(`${renderTables(summary)}\n`);
    if (o.flags.has('write-doc')) { writeDoc(summary, DOC_FILE); log(`wrote ${DOC_FILE}`); }
    return;
  }

  const quick = o.flags.has('quick');
  const runs = Number(o.runs ?? (quick ? 1 : 5));
  const rounds = Number(o.rounds ?? (quick ? 1 : 7));
  const minSampleMs = Number(o['min-sample-ms'] ?? (quick ? 2 : 40));
  const scale = Number(o.scale ?? (quick ? 0.05 : 1));
  const payloads = list(o.payloads, ALL_IDS, 'payload');
  let libs = list(o.libs, LIB_NAMES, 'library');
  if (!quick && !o.flags.has('no-install')) ensurePeers();
  if (!existsSync(PIKALA_ENTRY)) throw new Error(`pikala is not built (${PIKALA_ENTRY} missing): run npm run build first`);
  if (!payloads.some((id) => id.startsWith('f'))) libs = libs.filter((l) => l !== 'pulumi');
  const out = o.out ? resolve(o.out) : quick ? null : DEFAULT_OUT;

  // Which libraries can load here (versions for the report; missing peers are reported, not fatal).
  const loaded = await loadLibs(libs.filter((l) => l !== 'pulumi' || payloads.some((id) => id.startsWith('f'))));
  const versions = {};
  for (const [name, l] of loaded) versions[name] = l.missing ? 'missing' : `${l.version}${l.native ? ' (native add-on)' : ''}`;
  const missing = [...loaded.values()].filter((l) => l.missing).map((l) => l.name);
  if (missing.length) log(`not available: ${missing.join(', ')} (${[...loaded.values()].find((l) => l.missing).missing})`);

  const tmp = mkdtempSync(join(os.tmpdir(), 'pikala-bench-'));
  const childRuns = [];
  const cold = {};
  const coldIds = o.flags.has('no-cold') ? [] : payloads.filter((id) => id.startsWith('f'));
  const coldLibs = ['pikala', 'pulumi'].filter((l) => libs.includes(l) && loaded.get(l) && !loaded.get(l).missing);
  const t0 = Date.now();
  const loadBefore = os.loadavg()[0];
  try {
    for (let run = 0; run < runs; run++) {
      log(`run ${run + 1}/${runs}: payloads ${payloads.join(',')}; libs ${libs.join(',')}`);
      // Pulumi measures in a process of its own: it leaves node:inspector's Debugger enabled, which slows every
      // inspector call in its process (pikala's warm f1 went from 0.46 to 0.84 ms when Pulumi shared it).
      const groups = [{ payloads, libs: libs.filter((l) => l !== 'pulumi') }];
      if (libs.includes('pulumi')) groups.push({ payloads: payloads.filter((id) => id.startsWith('f')), libs: ['pulumi'] });
      const parts = [];
      for (const [g, group] of groups.entries()) {
        if (group.payloads.length === 0 || group.libs.length === 0) continue;
        const resultFile = join(tmp, `run-${run}-${g}.json`);
        const cfg = { ...group, rounds, minSampleMs, scale, resultFile, noGc: o.flags.has('no-gc') };
        const status = runNode([...CHILD_FLAGS, SELF, '--child', '--config', JSON.stringify(cfg)], 60 * 60_000);
        if (status !== 0 || !existsSync(resultFile)) throw new Error(`benchmark process ${run + 1} failed (exit ${status})`);
        parts.push(JSON.parse(readFileSync(resultFile, 'utf8')));
      }
      childRuns.push(mergeRuns(parts));
      for (const id of coldIds) {
        for (const lib of coldLibs) {
          const file = join(tmp, `${id}-${lib}-${run}.out`);
          const dumpRes = join(tmp, `${id}-${lib}-${run}.dump.json`);
          const loadRes = join(tmp, `${id}-${lib}-${run}.load.json`);
          const entry = {};
          ((cold[id] ??= {})[lib] ??= []).push(entry);
          runNode([SELF, '--cold-dump', '--config', JSON.stringify({ payload: id, lib, scale, file, resultFile: dumpRes })], 10 * 60_000);
          if (!existsSync(dumpRes)) { entry.error = 'cold dump process failed'; continue; }
          const d = JSON.parse(readFileSync(dumpRes, 'utf8'));
          if (d.error) { entry.error = d.error; continue; }
          entry.encMs = d.encMs;
          runNode([...CHILD_FLAGS, SELF, '--cold-load', '--config',
            JSON.stringify({ payload: id, lib, file, text: d.text, minSampleMs, resultFile: loadRes })], 10 * 60_000);
          if (!existsSync(loadRes)) { entry.error = 'cold load process failed'; continue; }
          const l = JSON.parse(readFileSync(loadRes, 'utf8'));
          if (l.error) { entry.error = l.error; continue; }
          Object.assign(entry, { decMs: l.decMs, cachedMs: l.cachedMs, probeOk: JSON.stringify(l.probe) === JSON.stringify(d.expected) });
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const argv = process.argv.slice(2).join(' ');
  const meta = {
    date: new Date().toISOString(), ...machine(),
    command: process.env.npm_lifecycle_event === 'bench' ? `npm run bench${argv ? ` -- ${argv}` : ''}` : `node bench/run.mjs${argv ? ` ${argv}` : ''}`,
    pikala: o.label ?? snapshotLabel ?? (process.env.PIKALA_BENCH_ENTRY ? `pikala build at ${PIKALA_ENTRY}` : gitLabel()),
    runs, rounds, minSampleMs, scale, quick, noGc: o.flags.has('no-gc'), payloads, libs, versions, seconds: Math.round((Date.now() - t0) / 1000),
    loadAvg: { before: +loadBefore.toFixed(2), after: +os.loadavg()[0].toFixed(2) },
    builtinOnly: libs.every((l) => BUILTIN_LIBS.includes(l) || missing.includes(l)),
  };
  const summary = aggregate(childRuns, cold, meta);
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(summary, null, 1)}\n`);
    log(`wrote ${out}`);
  }
  process.stdout.write(`${renderTables(summary)}\n`);
  if (o.flags.has('write-doc')) { writeDoc(summary, DOC_FILE); log(`wrote ${DOC_FILE}`); }
  log(`done in ${meta.seconds} s`);
}

main().catch((e) => {
  log(`bench: ${e?.stack ?? e}`);
  process.exitCode = 1;
}).finally(() => {
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
});
