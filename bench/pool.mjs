// Per-task overhead of pikala's Pool against piscina and raw worker_threads (issue: local compute).
//
//   npm run build && node bench/pool.mjs [--runs 3] [--tasks 10000] [--threads 2] [--only a,b]
//
// Every variant runs in a fresh process: 500 warm-up tasks, then `rounds` rounds of N tasks of a trivial
// function (x => x + 1); the figure is the median over processes of the per-process median, in µs per task
// (wall time / N). "burst": all N submitted at once, then awaited (pipelined throughput). "seq": each task
// awaited before the next (round-trip latency). Needs bench/node_modules (npm ci --prefix bench) for piscina.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const PIKALA = pathToFileURL(join(here, '../dist/esm/index.js')).href;
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const N = Number(opt('tasks', 10_000));
const THREADS = Number(opt('threads', Math.min(2, availableParallelism())));
const RUNS = Number(opt('runs', 3));
const ROUNDS = Number(opt('rounds', 5));

const median = (xs) => { const v = [...xs].sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };

// ------------------------------------------------------------------------------------------- variants
// Each returns { task(i) → Promise, close() }; `task` submits one trivial task.

const RAW_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage([m[0], m[1] + 1]));`;

async function raw(threads) {
  const ws = Array.from({ length: threads }, () => new Worker(RAW_WORKER, { eval: true }));
  const pending = new Map();
  let id = 0, rr = 0;
  for (const w of ws) w.on('message', (m) => { const r = pending.get(m[0]); pending.delete(m[0]); r(m[1]); });
  return {
    task: (x) => new Promise((resolve) => { pending.set(++id, resolve); ws[rr++ % threads].postMessage([id, x]); }),
    close: () => Promise.all(ws.map((w) => w.terminate())),
  };
}

async function piscinaPlain(extra = {}) {
  const { Piscina } = await import('piscina');
  const p = new Piscina({ filename: join(here, 'pool-workers/plain.mjs'), minThreads: THREADS, maxThreads: THREADS, ...extra });
  return { task: (x) => p.run(x), close: () => p.destroy() };
}

/** The alternative design: pikala's semantics on piscina with one generic worker (see pool-workers/generic.mjs). */
async function piscinaPikala(fn, makeArg) {
  const { Piscina } = await import('piscina');
  const { dumps, loads } = await import(PIKALA);
  const { createHash } = await import('node:crypto');
  const p = new Piscina({ filename: join(here, 'pool-workers/generic.mjs'), minThreads: THREADS, maxThreads: THREADS,
    workerData: { pikala: PIKALA } });
  const code = dumps(fn);
  const h = createHash('sha256').update(code).digest('base64url');
  const prim = (v) => v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');
  const decode = (r) => ('raw' in r ? r.raw : loads(r.b));
  return {
    task: async (x) => {
      const a = [makeArg(x)];
      const bytes = !a.every(prim);
      const msg = { h, bytes, data: bytes ? dumps(a) : a };
      let r = await p.run(msg);
      if (r.need) r = await p.run({ ...msg, code });
      return decode(r);
    },
    close: () => p.destroy(),
  };
}

async function pikalaPool(fn, makeArg) {
  const { Pool } = await import(PIKALA);
  const pool = new Pool({ size: THREADS });
  return { task: (x) => pool.run(fn, makeArg(x)), close: () => pool.close(), pool };
}

const inc = (x) => x + 1;
const incObj = (o) => ({ y: o.x + 1 });
const num = (x) => x;
const obj = (x) => ({ x });

const VARIANTS = {
  'raw worker_threads, 1 thread': () => raw(1),
  [`raw worker_threads, ${THREADS} threads`]: () => raw(THREADS),
  'piscina (file worker)': () => piscinaPlain(),
  'piscina (file worker, concurrentTasksPerWorker 16)': () => piscinaPlain({ concurrentTasksPerWorker: 16 }),
  'piscina + generic pikala worker': () => piscinaPikala(inc, num),
  'pikala Pool.run': () => pikalaPool(inc, num),
  'pikala Pool.map (one call over N items)': async () => {
    const v = await pikalaPool(inc, num);
    return { ...v, batch: (xs) => v.pool.map(inc, xs) };
  },
  'objects: piscina + generic pikala worker': () => piscinaPikala(incObj, obj),
  'objects: pikala Pool.run': () => pikalaPool(incObj, obj),
  'objects: pikala Pool.map': async () => {
    const v = await pikalaPool(incObj, obj);
    return { ...v, batch: (xs) => v.pool.map(incObj, xs.map(obj)) };
  },
};

// --------------------------------------------------------------------------------------------- child

async function child(name) {
  const v = await VARIANTS[name]();
  const xs = Array.from({ length: N }, (_, i) => i);
  const burst = v.batch ?? ((items) => Promise.all(items.map((x) => v.task(x))));
  await burst(xs.slice(0, 500));
  for (let i = 0; i < 200; i++) await v.task(i);
  const out = { burst: [], seq: [] };
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    const res = await burst(xs);
    out.burst.push(((performance.now() - t) * 1000) / N);
    const last = res[N - 1];
    if ((typeof last === 'object' ? last.y : last) !== N) throw new Error(`${name}: wrong result ${JSON.stringify(last)}`);
    if (v.batch) continue;
    const M = Math.min(N, 2000);
    t = performance.now();
    for (let i = 0; i < M; i++) await v.task(i);
    out.seq.push(((performance.now() - t) * 1000) / M);
  }
  await v.close();
  process.stdout.write(JSON.stringify({ burst: median(out.burst), seq: out.seq.length ? median(out.seq) : null }));
}

// -------------------------------------------------------------------------------------------- parent

async function parent() {
  const only = opt('only', null)?.split(',');
  const names = Object.keys(VARIANTS).filter((n, i) => !only || only.some((o) => n.includes(o) || String(i) === o));
  const results = Object.fromEntries(names.map((n) => [n, { burst: [], seq: [] }]));
  const load0 = loadavg()[0];
  for (let run = 0; run < RUNS; run++) {
    for (const name of names) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, '--tasks', String(N),
        '--threads', String(THREADS), '--rounds', String(ROUNDS)], { encoding: 'utf8', cwd: here });
      if (r.status !== 0) { console.error(`${name}: failed\n${r.stderr}`); process.exit(1); }
      const m = JSON.parse(r.stdout);
      results[name].burst.push(m.burst);
      if (m.seq !== null) results[name].seq.push(m.seq);
    }
  }
  const rawBurst = median(results['raw worker_threads, 1 thread']?.burst ?? [NaN]);
  const rawSeq = median(results['raw worker_threads, 1 thread']?.seq ?? [NaN]);
  const f = (x) => (x === null || Number.isNaN(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
  console.log(`# Pool per-task overhead: ${N} trivial tasks, ${THREADS} worker threads`);
  console.log(`Node ${process.version}, ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}; ` +
    `${RUNS} processes × ${ROUNDS} rounds, median of medians.\n`);
  console.log('| variant | burst µs/task | × raw burst | seq µs/task | × raw seq |');
  console.log('|---|---:|---:|---:|---:|');
  for (const name of names) {
    const b = median(results[name].burst);
    const s = results[name].seq.length ? median(results[name].seq) : null;
    console.log(`| ${name} | ${f(b)} | ${f(b / rawBurst)} | ${f(s)} | ${s === null ? '—' : f(s / rawSeq)} |`);
  }
}

if (args[0] === '--child') await child(args[1]); else await parent();
