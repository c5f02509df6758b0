/**
 * One measuring process (spawned by run.mjs with --expose-gc). Builds the payloads from the seeded PRNG,
 * verifies every library's round trip once per payload, then runs `rounds` rounds round-robin across the
 * libraries (the order rotates each round, so machine noise hits every library alike): each round takes one
 * encode sample and one decode sample per library, with gc() before each sample. A sample is n back-to-back
 * operations, n calibrated so that the sample lasts at least `minSampleMs`. Per-process figure = median over
 * rounds. Also the cold-start helpers for payload (f): a first dumps / first loads in a fresh process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dataPayloads } from './payloads.mjs';
import { loadLibs } from './libs.mjs';
import { deepEqual } from './equal.mjs';
import { median } from './stats.mjs';

const MAX_N = 1_000_000;
let gc = globalThis.gc ?? (() => {});
let sink;

function failLabel(lib, phase) {
  if (lib === 'pikala') return phase === 'enc' ? 'dumps failed' : 'loads failed';
  return phase === 'enc' ? 'encode failed' : 'decode failed';
}

function oneLine(msg) {
  const s = String(msg ?? '').replace(/\s+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** Times n back-to-back calls; returns total ms. */
function timeSync(op, n) {
  const t0 = performance.now();
  let r;
  for (let i = 0; i < n; i++) r = op();
  const t = performance.now() - t0;
  sink = r;
  return t;
}

async function timeAsync(op, n) {
  const t0 = performance.now();
  let r;
  for (let i = 0; i < n; i++) r = await op();
  const t = performance.now() - t0;
  sink = r;
  return t;
}

/**
 * n such that one sample lasts ≥ minMs, estimated from warm timings. The operation first runs back to back
 * for minMs (at least 3 calls): the first calls of a fresh process or right after a gc() pay tier-up
 * compilation and cold caches, and an n derived from them is far too small (4 instead of ~25 for pikala (b)),
 * which turns every sample into mostly post-gc recovery. The samples themselves still follow a gc(), so what
 * a library pays after a major GC is still measured, just spread over a full-length sample.
 */
async function calibrate(time, minMs) {
  let spent = 0;
  for (let calls = 0; (spent < minMs || calls < 3) && calls < MAX_N; calls++) spent += await time(1);
  let n = 1;
  let t = await time(1);
  while (t < minMs && n < MAX_N) {
    const guess = Math.ceil((n * minMs * 1.2) / Math.max(t, 1e-3));
    n = Math.min(MAX_N, Math.max(n * 2, guess));
    t = await time(n);
  }
  return n;
}

async function buildPayloads(ids, scale) {
  const out = [];
  const data = ids.some((id) => !id.startsWith('f')) ? dataPayloads(scale) : [];
  for (const id of ids) {
    if (id.startsWith('f')) {
      const { codePayload } = await import('./code-payloads.mjs');
      out.push(codePayload(id, scale));
    } else {
      out.push(data.find((p) => p.id === id));
    }
  }
  return out;
}

export async function runChild(opts) {
  const { payloads: ids, libs: names, rounds, minSampleMs, scale, resultFile } = opts;
  if (opts.noGc) gc = () => {};
  const payloads = await buildPayloads(ids, scale);
  const needFns = ids.some((id) => id.startsWith('f'));
  const libs = await loadLibs(names.filter((n) => needFns || n !== 'pulumi'));
  const probe = needFns ? (await import('../fixtures/probe.mjs')).probe : null;
  const results = {};
  for (const p of payloads) {
    const entry = { title: p.title, kind: p.kind, refBytes: p.refBytes, refNote: p.refNote, libs: {} };
    results[p.id] = entry;
    const active = [];
    for (const name of names) {
      const lib = libs.get(name);
      if (!lib) continue;
      if (lib.missing) { entry.libs[name] = { status: 'missing', message: lib.missing }; continue; }
      const s = lib.supports(p.id);
      if (s !== true) { entry.libs[name] = { status: 'unsupported', message: s }; continue; }
      const r = { status: 'ok', version: lib.version };
      let out;
      let back;
      try {
        const t0 = performance.now();
        out = lib.async ? await lib.encode(p.value, p) : lib.encode(p.value, p);
        r.firstEncMs = performance.now() - t0;
      } catch (e) {
        entry.libs[name] = { status: 'error', message: `${failLabel(name, 'enc')}: ${oneLine(e?.message ?? e)}` };
        continue;
      }
      try {
        const t0 = performance.now();
        back = lib.decode(out, p);
        r.firstDecMs = performance.now() - t0;
      } catch (e) {
        entry.libs[name] = { status: 'error', message: `${failLabel(name, 'dec')}: ${oneLine(e?.message ?? e)}` };
        continue;
      }
      r.size = lib.size(out);
      let cmp;
      try {
        cmp = p.kind === 'code' ? deepEqual(probe(p.id, p.value), probe(p.id, back)) : deepEqual(p.value, back);
      } catch (e) {
        cmp = { diff: `rebuilt value fails its probe: ${oneLine(e?.message)}` };
      }
      r.lossless = cmp.diff === null;
      if (cmp.diff) r.lossNote = oneLine(p.kind === 'code' ? `behaves differently: ${cmp.diff.replace(/^\$/, 'probe')}` : cmp.diff);
      else if (cmp.note) r.note = cmp.note;
      r.enc = [];
      r.dec = [];
      entry.libs[name] = r;
      active.push({ name, lib, out, r });
      back = undefined;
    }
    if (p.refBytes == null && entry.libs.v8?.size) entry.refBytes = entry.libs.v8.size;
    if (entry.refBytes) {
      // memcpy of the reference size: the physical floor the byte-oriented figures can be compared to
      const src = Buffer.alloc(entry.refBytes, 7);
      const dst = Buffer.alloc(entry.refBytes);
      const copy = (n) => timeSync(() => src.copy(dst), n);
      const n = await calibrate(copy, minSampleMs);
      entry.memcpyMs = median([copy(n) / n, copy(n) / n, copy(n) / n]);
    }
    for (const a of active) {
      const { lib, out } = a;
      const enc = () => lib.encode(p.value, p);
      const dec = () => lib.decode(out, p);
      a.time = lib.async
        ? { enc: (n) => timeAsync(enc, n), dec: (n) => timeSync(dec, n) }
        : { enc: (n) => timeSync(enc, n), dec: (n) => timeSync(dec, n) };
      gc();
      a.r.nEnc = await calibrate(a.time.enc, minSampleMs);
      gc();
      a.r.nDec = await calibrate(a.time.dec, minSampleMs);
    }
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < active.length; k++) {
        const a = active[(k + round) % active.length];
        gc();
        a.r.enc.push((await a.time.enc(a.r.nEnc)) / a.r.nEnc);
        gc();
        a.r.dec.push((await a.time.dec(a.r.nDec)) / a.r.nDec);
      }
    }
    for (const a of active) {
      a.r.encMs = median(a.r.enc);
      a.r.decMs = median(a.r.dec);
    }
    process.stderr.write(`  [pid ${process.pid}] ${p.id} done: ${active.length ? '' : '(no library could run it)'}${active.map((a) => `${a.name} ${a.r.encMs.toFixed(2)}/${a.r.decMs.toFixed(2)}ms`).join(', ')}\n`);
  }
  sink = undefined;
  writeFileSync(resultFile, JSON.stringify({ pid: process.pid, node: process.version, v8: process.versions.v8, results }));
}

/** Cold encode: the first encode of payload `id` in a fresh process. Writes the output for --cold-load. */
export async function runColdDump({ payload: id, lib: name, scale, file, resultFile }) {
  const { codePayload } = await import('./code-payloads.mjs');
  const { probe } = await import('../fixtures/probe.mjs');
  const p = codePayload(id, scale);
  const lib = (await loadLibs([name])).get(name);
  const res = { expected: probe(id, p.value) };
  if (lib.missing) res.error = lib.missing;
  else {
    try {
      const t0 = performance.now();
      const out = lib.async ? await lib.encode(p.value, p) : lib.encode(p.value, p);
      res.encMs = performance.now() - t0;
      res.text = typeof out === 'string';
      writeFileSync(file, out);
    } catch (e) {
      res.error = `${failLabel(name, 'enc')}: ${oneLine(e?.message ?? e)}`;
    }
  }
  writeFileSync(resultFile, JSON.stringify(res));
}

/**
 * Cold decode: the first decode of the bytes in a fresh process that never imported the defining module;
 * then the "cached" figure: the same payload decoded again (calibrated samples, median).
 */
export async function runColdLoad({ payload: id, lib: name, file, text, minSampleMs, resultFile }) {
  const { CODE_META } = await import('./code-payloads.mjs');
  const { probe } = await import('../fixtures/probe.mjs');
  const p = { id, single: CODE_META[id].single };
  const lib = (await loadLibs([name])).get(name);
  const out = text ? readFileSync(file, 'utf8') : new Uint8Array(readFileSync(file));
  const res = {};
  try {
    const t0 = performance.now();
    const back = lib.decode(out, p);
    res.decMs = performance.now() - t0;
    res.probe = probe(id, back);
    const n = await calibrate((k) => timeSync(() => lib.decode(out, p), k), minSampleMs);
    const samples = [];
    // Seven samples: with three, the median moved by 2x between runs on this shared machine.
    for (let i = 0; i < 7; i++) { gc(); samples.push(timeSync(() => lib.decode(out, p), n) / n); }
    res.cachedMs = median(samples);
  } catch (e) {
    res.error = `${failLabel(name, 'dec')}: ${oneLine(e?.message ?? e)}`;
  }
  writeFileSync(resultFile, JSON.stringify(res));
}
