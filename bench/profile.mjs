#!/usr/bin/env node
/**
 * CPU profile of one pikala operation on one benchmark payload, summarised as the functions that take the
 * time (self and inclusive), so a regression or a hot spot can be named precisely.
 *
 *   node bench/profile.mjs --payload e --op enc            # dumps of payload (e), 3 s, after warm-up
 *   node bench/profile.mjs --payload a --op dec --seconds 5 --out /tmp/a-dec.cpuprofile   # keep it for DevTools
 *   node bench/profile.mjs --pikala /tmp/snap/dist/esm/index.js --payload c --op enc      # another build
 *   node --cpu-prof --cpu-prof-dir /tmp/prof bench/profile.mjs --payload b --op enc --no-inspector
 *   node bench/profile.mjs --payload e --op enc --mixed   # first run every payload through dumps/loads, as the
 *                                                          # benchmark process does (polymorphic type feedback)
 *   node bench/profile.mjs --summarize /tmp/prof/CPU.*.cpuprofile   # summarise a --cpu-prof file
 *
 * The in-process profile uses node:inspector's Profiler (the same data --cpu-prof writes), 100 µs sampling.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const has = (name) => args.includes(`--${name}`);

export function summarize(profile, top = 25, filter = null) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|src|node_modules)\//, '$1/') : '';
    return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map();
  const incl = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, timeDeltas[i] ?? 0);
    total += dt;
    let id = samples[i];
    const k0 = key(byId.get(id));
    self.set(k0, (self.get(k0) ?? 0) + dt);
    const seen = new Set();
    while (id !== undefined) {
      const k = key(byId.get(id));
      if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt); }
      id = parent.get(id);
    }
  }
  const pct = (x) => `${((100 * x) / total).toFixed(1).padStart(5)}%`;
  const rows = (m) => [...m].filter(([k]) => !filter || filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`total ${(total / 1000).toFixed(0)} ms sampled`, '', 'self time:'];
  for (const [k, v] of rows(self)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'inclusive time (pikala and GC only):');
  for (const [k, v] of rows(incl).filter(([k]) => /dist\/|src\/|garbage collector/.test(k)).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  // Hot lines (V8 records ticks per source line for each function): where inside a big function the time goes.
  const lineTicks = new Map();
  let ticks = 0;
  for (const n of nodes) {
    ticks += n.hitCount ?? 0;
    for (const { line, ticks: t } of n.positionTicks ?? []) {
      if (!/\/dist\/|\/src\//.test(n.callFrame.url)) continue;
      const k = `${n.callFrame.url}\u0000${line}`;
      lineTicks.set(k, (lineTicks.get(k) ?? 0) + t);
    }
  }
  const sources = new Map();
  const text = (url, line) => {
    try {
      if (!sources.has(url)) sources.set(url, readFileSync(new URL(url), 'utf8').split('\n'));
      return sources.get(url)[line - 1]?.trim().slice(0, 110) ?? '';
    } catch {
      return '';
    }
  };
  lines.push('', 'hot lines (pikala, % of all samples):');
  for (const [k, t] of [...lineTicks].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [url, line] = k.split('\u0000');
    const file = url.replace(/^.*\/(dist|src)\//, '$1/');
    lines.push(`  ${((100 * t) / Math.max(1, ticks)).toFixed(1).padStart(5)}%  ${file}:${line}  ${text(url, Number(line))}`);
  }
  return lines.join('\n');
}

async function main() {
  if (opt('summarize')) {
    console.log(summarize(JSON.parse(readFileSync(opt('summarize'), 'utf8')), Number(opt('top', 25))));
    return;
  }
  const id = opt('payload', 'a');
  const op = opt('op', 'enc');
  const seconds = Number(opt('seconds', 3));
  const entry = opt('pikala') ? resolve(opt('pikala')) : resolve(new URL('..', import.meta.url).pathname, 'dist/esm/index.js');
  const { dumps, loads } = await import(pathToFileURL(entry).href);
  let value;
  if (id.startsWith('f')) value = (await import('./lib/code-payloads.mjs')).codePayload(id, Number(opt('scale', 1))).value;
  else value = (await import('./lib/payloads.mjs')).dataPayloads(Number(opt('scale', 1))).find((p) => p.id === id).value;
  if (has('mixed')) {
    // What the benchmark process does: the other payloads go through dumps/loads first, so the JIT's type
    // feedback has seen every shape before this payload is measured.
    for (const p of (await import('./lib/payloads.mjs')).dataPayloads(Number(opt('scale', 1)))) {
      for (let i = 0; i < 5; i++) loads(dumps(p.value));
    }
  }
  const bytes = dumps(value);
  const run = op === 'enc' ? () => dumps(value) : () => loads(bytes);
  const warmUntil = performance.now() + 1000;
  let n = 0;
  while (performance.now() < warmUntil) { run(); n++; }
  const session = new Session();
  session.connect();
  const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  if (!has('no-inspector')) {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
  }
  const t0 = performance.now();
  let k = 0;
  while (performance.now() - t0 < seconds * 1000) { run(); k++; }
  const ms = (performance.now() - t0) / k;
  console.log(`pikala ${op === 'enc' ? 'dumps' : 'loads'} of (${id}): ${ms.toFixed(3)} ms/op over ${k} ops (${bytes.length} bytes; ${n} warm-up ops)`);
  if (has('no-inspector')) return;
  const { profile } = await post('Profiler.stop');
  if (opt('out')) writeFileSync(opt('out'), JSON.stringify(profile));
  console.log(summarize(profile, Number(opt('top', 25))));
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
