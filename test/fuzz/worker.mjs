/**
 * A fuzz worker: runs cases start, start + step, start + 2·step, ... until its case budget or deadline, with
 * every load guarded (lib.mjs). Before each load it publishes the case index and a "loading" flag in shared
 * memory, so the main thread's watchdog can tell a hang from a slow machine and name the case.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { installGuards, makeCase, truncationPlan } from './lib.mjs';

const {
  corpus, seed, modes, strategies, start, step, maxIndex, deadline, truncateMax, truncateEvery, heavy, slowMs, sab, slot, dist,
} = workerData;
const { dumps, loads } = await import(dist);
const fc = (await import('fast-check')).default;
const { graphPlan, buildGraph } = await import('../fixtures/data/graphs.mjs');

const shared = new Int32Array(sab);
const STATE = slot * 2;
const INDEX = slot * 2 + 1;

const guards = installGuards({
  heavy,
  warmUp() {
    loads(dumps([{ a: 1 }, new Map([[1, new Date(0)]]), Buffer.from('x'), new Error('e'), Math.max]));
    loads(dumps([1]), { allowCode: false });
  },
});
/** counts[mode][strategy][outcome] */
const counts = {};
const seenFindings = new Set();
let pending = [];

function count(mode, strategy, key, n = 1) {
  const m = (counts[mode] ??= {});
  const s = (m[strategy] ??= {});
  s[key] = (s[key] ?? 0) + n;
}

function finding(kind, c, index, mode, detail, bytes) {
  const signature = `${kind}|${mode}|${detail}`;
  count(mode, c.strategy, kind);
  if (seenFindings.has(signature) || seenFindings.size > 500) return;
  seenFindings.add(signature);
  pending.push({ type: 'finding', kind, mode, strategy: c.strategy, index, source: c.source, detail, size: bytes?.length,
    hex: bytes && bytes.length <= 4096 ? Buffer.from(bytes).toString('hex') : undefined });
}

function judge(c, index, mode, bytes, options, expectOk = false) {
  // Every other case loads with zeroCopy: views over the input must be as safe as copies.
  if ((index & 1) === 1) options = { ...options, zeroCopy: true };
  Atomics.store(shared, INDEX, index);
  Atomics.store(shared, STATE, 1);
  const r = guards.load(loads, bytes, options);
  Atomics.store(shared, STATE, 0);
  count(mode, c.strategy, 'cases');
  count(mode, c.strategy, r.outcome === 'ok' || r.outcome === 'foreign' || r.outcome === 'PIKALA_CORRUPT' ? r.outcome : 'other');
  if (r.outcome !== 'ok' && r.outcome !== 'foreign' && r.outcome !== 'PIKALA_CORRUPT') count(mode, c.strategy, `code:${r.outcome}`);
  if (r.outcome === 'foreign') finding('foreign', c, index, mode, r.detail, bytes);
  if (r.masked) finding('masked', c, index, mode, r.masked, bytes);
  const dataOnly = options.allowCode === false;
  if (r.accessor.length !== 0 && (dataOnly || r.compiles.length === 0)) finding('accessor', c, index, mode, r.accessor.join(','), bytes);
  if (r.compiles.length !== 0) {
    if (dataOnly) finding('code-run', c, index, mode, r.compiles.join(','), bytes);
    else count(mode, c.strategy, 'compiled');
  }
  if (r.modules.length !== 0 && dataOnly) finding('module-load', c, index, mode, r.modules.slice(0, 3).join(','), bytes);
  if (r.functions) finding('function', c, index, mode, `${r.functions} function(s) in a data-only result`, bytes);
  if (r.intrinsics) finding('intrinsic', c, index, mode, 'a realm intrinsic in a data-only result', bytes);
  if (r.builtinFunctions) count(mode, c.strategy, 'builtin-fn');
  if (r.pollution && r.pollution.length !== 0) finding('pollution', c, index, mode, r.pollution.slice(0, 5).join('; '), bytes);
  if (r.ms > slowMs) finding('slow', c, index, mode, `${Math.round(r.ms)} ms for ${bytes.length} bytes`, bytes);
  if (options.key !== undefined && r.outcome !== 'PIKALA_SIGNATURE') finding('signature', c, index, mode, `tampered signed payload gave ${r.outcome}`, bytes);
  if (expectOk && r.outcome !== 'ok') finding('roundtrip', c, index, mode, `a generated graph did not load: ${r.outcome}`, bytes);
  return r;
}

const trunc = truncateMax > 0 ? modes.map((mode) => ({ mode, plan: truncationPlan(corpus, mode, truncateMax, truncateEvery) })) : [];
const truncTotal = trunc.reduce((s, t) => s + t.plan.total, 0);

function truncationCase(index) {
  let k = index;
  for (const { mode, plan } of trunc) {
    if (k < plan.total) {
      const { item, length } = plan.at(k);
      return { mode, c: { strategy: 'truncate', source: item.name, bytes: item.bytes.subarray(0, length), options: { allowCode: mode === 'code' } } };
    }
    k -= plan.total;
  }
  return null;
}

let lastPost = Date.now();
let index = start;
for (; index < maxIndex && Date.now() < deadline; index += step) {
  let mode;
  let c;
  if (index < truncTotal) {
    ({ mode, c } = truncationCase(index));
  } else {
    mode = modes[index % modes.length];
    c = makeCase({ seed, index, mode, corpus, strategies, fc, graphPlan, buildGraph, dumps });
  }
  if (c.dumpError !== undefined) {
    count(mode, c.strategy, 'dumps failed');
    finding('dumps', c, index, mode, c.dumpError.replace(/\d+/g, 'N'));
  } else {
    judge(c, index, mode, c.bytes, c.options, c.roundTrip === true);
    if (c.mutated !== undefined) judge(c, index, mode, c.mutated, c.options);
  }
  if ((index - start) / step % 512 === 511) {
    const changes = guards.fullCheck();
    if (changes.length !== 0) finding('pollution', c, index, mode, `full check: ${changes.slice(0, 5).join('; ')}`);
  }
  const now = Date.now();
  if (now - lastPost > 250) {
    parentPort.postMessage({ type: 'progress', counts, findings: pending, next: index + step });
    pending = [];
    lastPost = now;
  }
}
parentPort.postMessage({ type: 'done', counts, findings: pending, next: index });
