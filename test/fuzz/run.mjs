/**
 * Long fuzz runs of loads (and the budgeted run of fuzz.test.mjs):
 *
 *   npm run fuzz -- --seconds 60 --seed 42 [--mode data-only|code|both] [--workers 2] [--timeout 10000]
 *                   [--truncate-max 2048] [--cases N] [--strategies mutate,splice] [--heavy] [--json]
 *   npm run fuzz -- --seed 42 --replay 12345 [--mode both] [--save case.bin]
 *
 * Modes: data-only loads every payload (data and code, mutated) with allowCode: false; code loads mutated data
 * payloads with allowCode: true. Cases first walk every prefix of every corpus item up to --truncate-max bytes,
 * then draw a strategy per case. Workers (worker threads) run interleaved case indices; a watchdog in this thread
 * terminates a worker whose load has not returned within --timeout ms (a hang), records the case and starts a
 * new worker after it. A worker that dies (out of memory, fatal error) is a crash, handled the same way.
 * Prints counts per mode and strategy, then every distinct finding with the command that replays it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STRATEGIES, buildCorpus, installGuards, knownBug, makeCase, truncationPlan, violationsOf } from './lib.mjs';

const DIST = new URL('../../dist/esm/index.js', import.meta.url).href;
const WORKER = new URL('./worker.mjs', import.meta.url);

export const DEFAULTS = {
  seconds: 60, seed: undefined, mode: 'both', workers: Math.max(1, Math.min(4, availableParallelism())), timeout: 10_000,
  truncateMax: 2048, truncateEvery: 1, cases: Infinity, strategies: STRATEGIES, heavy: false, slow: 2_000, quiet: false,
  corpus: undefined, quickCorpus: false,
};

function modesOf(mode) {
  if (mode === 'both') return ['data-only', 'code'];
  if (mode === 'data-only' || mode === 'code') return [mode];
  throw new Error(`--mode must be data-only, code or both, not ${mode}`);
}

/** Runs a fuzz campaign; resolves to { counts, findings, cases, seconds, seed }. */
export async function runFuzz(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const seed = o.seed ?? ((Date.now() ^ (process.pid << 16)) >>> 0);
  const modes = modesOf(o.mode);
  const { dumps } = await import(DIST);
  const corpus = o.corpus ?? await buildCorpus({ dumps, code: modes.includes('data-only'), quick: o.quickCorpus });
  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  const sab = new SharedArrayBuffer(8 * o.workers);
  const shared = new Int32Array(sab);
  const totals = []; // final count snapshots of every worker incarnation
  const findings = [];
  const say = (...a) => { if (!o.quiet) console.log(...a); };
  say(`pikala fuzz: seed ${seed}, modes ${modes.join('+')}, ${o.workers} worker(s), corpus of ${corpus.length} payloads, ` +
    `${Number.isFinite(o.cases) ? `${o.cases} cases` : `${o.seconds} s`}`);

  await new Promise((resolveAll) => {
    let running = 0;
    const start = (slot, from) => {
      running++;
      const latest = { counts: {} };
      totals.push(latest);
      const worker = new Worker(WORKER, {
        workerData: {
          corpus, seed, modes, strategies: o.strategies, start: from, step: o.workers, maxIndex: o.cases, deadline,
          truncateMax: o.truncateMax, truncateEvery: o.truncateEvery, heavy: o.heavy || slot % 2 === 1, slowMs: o.slow, sab, slot,
          dist: DIST,
        },
        resourceLimits: { maxOldGenerationSizeMb: 2048 },
        stdout: true,
        stderr: true,
      });
      worker.stdout.resume();
      worker.stderr.resume();
      let finished = false;
      let lastIndex = -1;
      let since = Date.now();
      const watchdog = setInterval(() => {
        const loading = Atomics.load(shared, slot * 2) === 1;
        const index = Atomics.load(shared, slot * 2 + 1);
        if (!loading || index !== lastIndex) { lastIndex = loading ? index : -1; since = Date.now(); return; }
        if (Date.now() - since > o.timeout) {
          finished = true;
          clearInterval(watchdog);
          findings.push({ kind: 'hang', index, detail: `no result after ${o.timeout} ms` });
          say(`  hang at case ${index}: restarting the worker`);
          worker.terminate();
          Atomics.store(shared, slot * 2, 0);
          running--;
          if (Date.now() < deadline && index + o.workers < o.cases) start(slot, index + o.workers);
          else if (running === 0) resolveAll();
        }
      }, 200);
      worker.on('message', (m) => {
        latest.counts = m.counts;
        for (const f of m.findings) findings.push(f);
        if (m.type === 'done') {
          finished = true;
          clearInterval(watchdog);
          running--;
          if (running === 0) resolveAll();
        }
      });
      const died = (why) => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        const index = Atomics.load(shared, slot * 2 + 1);
        findings.push({ kind: 'crash', index, detail: why });
        say(`  crash at case ${index} (${why}): restarting the worker`);
        Atomics.store(shared, slot * 2, 0);
        running--;
        if (Date.now() < deadline && index + o.workers < o.cases) start(slot, index + o.workers);
        else if (running === 0) resolveAll();
      };
      worker.on('error', (e) => died(`${e?.code ?? e?.name}: ${e?.message}`));
      worker.on('exit', (code) => { if (code !== 0) died(`exit code ${code}`); else if (!finished) died('exited early'); });
    };
    for (let w = 0; w < o.workers; w++) start(w, w);
  });

  const counts = {};
  for (const { counts: c } of totals) {
    for (const [mode, byStrategy] of Object.entries(c)) {
      for (const [strategy, byKey] of Object.entries(byStrategy)) {
        const target = ((counts[mode] ??= {})[strategy] ??= {});
        for (const [k, n] of Object.entries(byKey)) target[k] = (target[k] ?? 0) + n;
      }
    }
  }
  for (const f of findings) {
    if (f.kind === 'hang' || f.kind === 'crash') {
      const target = ((counts.watchdog ??= {}).all ??= {});
      target[f.kind] = (target[f.kind] ?? 0) + 1;
    }
  }
  const cases = Object.values(counts).flatMap((m) => Object.values(m)).reduce((s, x) => s + (x.cases ?? 0), 0);
  return { seed, counts, findings, cases, seconds: (Date.now() - t0) / 1000, corpusSize: corpus.length };
}

const COLUMNS = ['cases', 'ok', 'PIKALA_CORRUPT', 'other', 'foreign', 'masked', 'hang', 'crash', 'pollution', 'code-run',
  'module-load', 'accessor', 'function', 'signature', 'intrinsic', 'builtin-fn', 'slow', 'roundtrip', 'dumps failed', 'compiled'];

/** The counts table and the findings, as text. */
export function report({ seed, counts, findings, cases, seconds }, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const replayFlags = [`--seed ${seed}`, `--mode ${o.mode}`,
    o.truncateMax !== DEFAULTS.truncateMax ? `--truncate-max ${o.truncateMax}` : '',
    o.truncateEvery !== 1 ? `--truncate-every ${o.truncateEvery}` : '', o.quickCorpus ? '--quick-corpus' : '',
    o.strategies !== STRATEGIES ? `--strategies ${o.strategies.join(',')}` : ''].filter(Boolean).join(' ');
  const lines = [];
  lines.push(`${cases} loads in ${seconds.toFixed(1)} s (seed ${seed})`);
  const rows = [];
  for (const [m, byStrategy] of Object.entries(counts)) {
    for (const [s, c] of Object.entries(byStrategy)) rows.push([`${m}/${s}`, c]);
  }
  const used = COLUMNS.filter((k) => rows.some(([, c]) => (c[k] ?? 0) !== 0) || ['cases', 'ok', 'PIKALA_CORRUPT', 'foreign', 'hang', 'pollution', 'code-run', 'accessor'].includes(k));
  const width = Math.max(...rows.map(([n]) => n.length), 8);
  lines.push(['', ...used].map((h, i) => (i === 0 ? h.padEnd(width) : h.padStart(Math.max(7, h.length)))).join(' '));
  for (const [name, c] of rows) {
    lines.push([name.padEnd(width), ...used.map((k) => String(c[k] ?? 0).padStart(Math.max(7, k.length)))].join(' '));
  }
  const codes = {};
  for (const [, c] of rows) for (const [k, n] of Object.entries(c)) if (k.startsWith('code:')) codes[k.slice(5)] = (codes[k.slice(5)] ?? 0) + n;
  if (Object.keys(codes).length !== 0) lines.push(`other PikalaError codes: ${Object.entries(codes).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const byKind = new Map();
  for (const f of findings) {
    const key = `${f.kind}|${f.detail}`;
    if (!byKind.has(key)) byKind.set(key, { ...f, n: 0 });
    byKind.get(key).n++;
  }
  if (byKind.size !== 0) {
    lines.push(`findings (distinct; replay one with: npm run fuzz -- ${replayFlags} --replay INDEX):`);
    for (const f of byKind.values()) {
      const known = knownBug(f);
      lines.push(`  ${f.kind.padEnd(11)} ${f.mode ?? ''} ${f.strategy ?? ''} case ${f.index}${f.size !== undefined ? ` (${f.size} bytes)` : ''}` +
        `${f.n > 1 ? ` ×${f.n}` : ''}: ${known ? `[known bug: ${known}] ` : ''}${f.detail}`);
    }
  }
  return lines.join('\n');
}

/** Recomputes case `index` and loads it here, guarded, printing what happened. */
export async function replay({ seed, index, mode = 'both', truncateMax = DEFAULTS.truncateMax, truncateEvery = 1, strategies = STRATEGIES,
  save, quickCorpus = false }) {
  const modes = modesOf(mode);
  const { dumps, loads } = await import(DIST);
  const fc = (await import('fast-check')).default;
  const { graphPlan, buildGraph } = await import('../fixtures/data/graphs.mjs');
  const corpus = await buildCorpus({ dumps, code: modes.includes('data-only'), quick: quickCorpus });
  const trunc = truncateMax > 0 ? modes.map((m) => ({ mode: m, plan: truncationPlan(corpus, m, truncateMax, truncateEvery) })) : [];
  let k = index;
  let c;
  let caseMode;
  for (const { mode: m, plan } of trunc) {
    if (k < plan.total) {
      const { item, length } = plan.at(k);
      caseMode = m;
      c = { strategy: 'truncate', source: item.name, bytes: item.bytes.subarray(0, length), options: { allowCode: m === 'code' } };
      break;
    }
    k -= plan.total;
  }
  if (c === undefined) {
    caseMode = modes[index % modes.length];
    c = makeCase({ seed, index, mode: caseMode, corpus, strategies, fc, graphPlan, buildGraph, dumps });
  }
  console.log(`case ${index}: mode ${caseMode}, strategy ${c.strategy}, from ${c.source}`);
  if (c.dumpError) { console.log(`dumps failed: ${c.dumpError}`); return; }
  const guards = installGuards({ warmUp() { loads(dumps([{ a: 1 }, Buffer.from('x'), Math.max])); } });
  for (const bytes of [c.bytes, c.mutated].filter(Boolean)) {
    console.log(`${bytes.length} bytes: ${Buffer.from(bytes.subarray(0, 256)).toString('hex')}${bytes.length > 256 ? '…' : ''}`);
    if (save) { writeFileSync(save, bytes); console.log(`saved to ${save}`); }
    const r = guards.load(loads, bytes, c.options);
    console.log(r);
    try { loads(bytes, c.options); } catch (e) { console.log(e); if (e?.cause) console.log('cause:', e.cause); }
  }
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    switch (a) {
      case '--seconds': o.seconds = Number(next()); break;
      case '--seed': o.seed = Number(next()) >>> 0; break;
      case '--mode': o.mode = next(); break;
      case '--workers': o.workers = Number(next()); break;
      case '--timeout': o.timeout = Number(next()); break;
      case '--truncate-max': o.truncateMax = Number(next()); break;
      case '--truncate-every': o.truncateEvery = Number(next()); break;
      case '--quick-corpus': o.quickCorpus = true; break;
      case '--cases': o.cases = Number(next()); break;
      case '--strategies': o.strategies = next().split(','); break;
      case '--heavy': o.heavy = true; break;
      case '--slow': o.slow = Number(next()); break;
      case '--replay': o.replay = Number(next()); break;
      case '--save': o.save = next(); break;
      case '--json': o.json = true; break;
      case '--help': case '-h':
        console.log(fileURLToPath(import.meta.url).replace(/.*\//, ''), 'options: --seconds --seed --mode --workers --timeout --truncate-max --truncate-every --quick-corpus --cases --strategies --heavy --slow --replay --save --json');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  for (const s of o.strategies ?? []) if (!STRATEGIES.includes(s)) throw new Error(`unknown strategy ${s} (have ${STRATEGIES.join(', ')})`);
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = parseArgs(process.argv.slice(2));
  if (o.replay !== undefined) {
    if (o.seed === undefined) throw new Error('--replay needs the --seed of the run');
    await replay({ ...o, index: o.replay });
  } else {
    const result = await runFuzz(o);
    console.log(report(result, o));
    if (o.json) console.log(JSON.stringify(result));
    const violations = violationsOf(result.findings);
    console.log(violations.length === 0 ? 'no violations (known bugs aside)' : `${violations.length} violation(s)`);
    process.exitCode = violations.length === 0 ? 0 : 1;
  }
}
