/**
 * Aggregation (median over fresh processes of the per-process medians), the markdown tables, the target
 * verdicts, and docs/PERFORMANCE.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { median, spread } from './stats.mjs';
import { LIB_NAMES } from './libs.mjs';

const DATA = ['a', 'b', 'c', 'd', 'e'];
const PAYLOAD_ORDER = ['a', 'b', 'c', 'd', 'e', 'f1', 'f2', 'f3'];

/** childRuns: parsed child result files; cold: { [payload]: { [lib]: [ {encMs, decMs, cachedMs, error, probeOk} ] } } */
export function aggregate(childRuns, cold, meta) {
  const payloads = {};
  for (const id of PAYLOAD_ORDER) {
    const runs = childRuns.map((c) => c.results[id]).filter(Boolean);
    if (!runs.length) continue;
    const first = runs[0];
    const out = {
      title: first.title, kind: first.kind, refBytes: median(runs.map((r) => r.refBytes)), refNote: first.refNote,
      memcpyMs: median(runs.map((r) => r.memcpyMs)), libs: {},
    };
    const names = LIB_NAMES.filter((n) => runs.some((r) => r.libs[n]));
    for (const name of names) {
      const rs = runs.map((r) => r.libs[name]).filter(Boolean);
      const oks = rs.filter((r) => r.status === 'ok');
      const bad = rs.find((r) => r.status !== 'ok');
      if (!oks.length || (bad && bad.status === 'error')) {
        out.libs[name] = { status: bad.status, message: bad.message };
        continue;
      }
      const encRuns = oks.map((r) => r.encMs);
      const decRuns = oks.map((r) => r.decMs);
      const lossy = oks.find((r) => !r.lossless);
      const l = {
        status: 'ok', version: oks[0].version, size: oks[0].size, lossless: !lossy, lossNote: lossy?.lossNote,
        note: oks.find((r) => r.note)?.note,
        encMs: median(encRuns), decMs: median(decRuns), encSpread: spread(encRuns), decSpread: spread(decRuns),
        encRuns, decRuns, firstEncMs: median(oks.map((r) => r.firstEncMs)), firstDecMs: median(oks.map((r) => r.firstDecMs)),
      };
      const c = cold?.[id]?.[name];
      if (c?.length) {
        const cerr = c.find((x) => x.error);
        if (cerr) l.coldNote = cerr.error;
        const good = c.filter((x) => !x.error);
        l.coldEncMs = median(good.map((x) => x.encMs));
        l.coldDecMs = median(good.map((x) => x.decMs));
        l.cachedDecMs = median(good.map((x) => x.cachedMs));
        l.coldRuns = c.length;
        if (good.some((x) => x.probeOk === false)) { l.lossless = false; l.lossNote = l.lossNote ?? 'behaves differently after a cold load in a fresh process'; }
      }
      out.libs[name] = l;
    }
    payloads[id] = out;
  }
  const summary = { meta, payloads };
  summary.targets = evaluateTargets(summary);
  return summary;
}

// ---------------------------------------------------------------------------------------------- formatting

export function fmtMs(x) {
  if (x == null) return '—';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  if (x >= 0.01) return x.toFixed(3);
  return x.toPrecision(2);
}
export function fmtRatio(x) {
  if (x == null || !Number.isFinite(x)) return '—';
  if (x >= 1000) return `${x.toExponential(1)}×`;
  if (x >= 10) return `${x.toFixed(1)}×`;
  if (x >= 0.01) return `${x.toFixed(2)}×`;
  return `${x.toPrecision(1)}×`;
}
const fmtPct = (x) => (x == null ? '—' : `${Math.round(x * 100)}%`);
function fmtRate(mb) {
  if (mb == null || !Number.isFinite(mb)) return '—';
  if (mb >= 100000) return mb.toExponential(1);
  return mb >= 100 ? mb.toFixed(0) : mb.toPrecision(3);
}
const cell = (s) => String(s).replace(/\|/g, '\\|');

/** Speed ratio: baseline time / lib time (> 1 = faster than the baseline). */
function speed(base, lib, key) {
  const b = base?.status === 'ok' ? base[key] : null;
  const l = lib?.status === 'ok' ? lib[key] : null;
  return b != null && l ? b / l : null;
}

function roundTrip(l) {
  if (l.lossless) return l.note ? `yes (${l.note})` : 'yes';
  return `NO: ${l.lossNote ?? 'differs'}`;
}

export function renderTables(summary) {
  const { payloads } = summary;
  const lines = [];
  const head = ['payload', 'lib', 'size (B)', 'size ×v8', 'enc ms', 'dec ms', 'enc MB/s', 'dec MB/s',
    'enc ×v8', 'dec ×v8', 'enc ×msgpackr', 'dec ×msgpackr', 'spread enc/dec', 'round trip'];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 || i === head.length - 1 ? '---' : '---:')).join('|')}|`);
  const notRun = [];
  const notRunBy = {};
  const missing = new Set();
  for (const [id, p] of Object.entries(payloads)) {
    const v8 = p.libs.v8;
    const mp = p.libs.msgpackr;
    for (const [name, l] of Object.entries(p.libs)) {
      if (l.status === 'unsupported' && name === 'pulumi') continue;
      if (l.status !== 'ok' && name !== 'pikala') {
        if (l.status === 'error') lines.push(`| ${id} | ${name} | n/a (${cell(l.message)}) |${' |'.repeat(head.length - 3)}`);
        else if (l.status === 'missing') missing.add(name);
        else {
          const k = `${l.message}|${name}`;
          notRun.push(k);
          (notRunBy[k] ??= []).push(id);
        }
        continue;
      }
      if (l.status !== 'ok') {
        lines.push(`| ${id} | **${name}** | n/a (${cell(l.message)}) |${' |'.repeat(head.length - 3)}`);
        continue;
      }
      const mb = (ms) => (p.refBytes && ms ? p.refBytes / 1e6 / (ms / 1000) : null);
      const sizeV8 = v8?.status === 'ok' ? l.size / v8.size : null;
      lines.push(`| ${[
        id, name === 'pikala' ? '**pikala**' : name, l.size, sizeV8 == null ? '—' : sizeV8.toFixed(2),
        fmtMs(l.encMs), fmtMs(l.decMs), fmtRate(mb(l.encMs)), fmtRate(mb(l.decMs)),
        fmtRatio(speed(v8, l, 'encMs')), fmtRatio(speed(v8, l, 'decMs')),
        fmtRatio(speed(mp, l, 'encMs')), fmtRatio(speed(mp, l, 'decMs')),
        `${fmtPct(l.encSpread)}/${fmtPct(l.decSpread)}`, cell(roundTrip(l)),
      ].join(' | ')} |`);
    }
  }
  const out = ['### Results', '', ...lines, ''];
  out.push('Ratios are speed ratios (baseline time ÷ library time; > 1 = faster than the baseline); size ×v8 is bytes ÷ v8 bytes. '
    + 'MB/s are against a fixed reference size per payload: '
    + Object.entries(payloads).filter(([, p]) => p.refBytes).map(([id, p]) => `(${id}) ${(p.refBytes / 1e6).toFixed(2)} MB ${p.refNote}`
      + (p.memcpyMs ? ` (memcpy ${fmtMs(p.memcpyMs)} ms)` : '')).join(', ')
    + '. Spread = (max − min) ÷ median of the per-process medians. (f) rows: enc = a warm `dumps`, dec = loading the same payload again (cached).');
  if (missing.size) out.push('', `Not installed here (bench/node_modules absent; \`npm ci --prefix bench\` installs them): ${[...missing].join(', ')}.`);
  if (notRun.length) {
    const byReason = new Map();
    for (const k of new Set(notRun)) {
      const [reason, name] = k.split('|');
      if (!byReason.has(reason)) byReason.set(reason, []);
      byReason.get(reason).push(`${name} (${notRunBy[k].join(', ')})`);
    }
    out.push('', `Not run: ${[...byReason].map(([reason, who]) => `${who.join(', ')}: ${reason}`).join('; ')}.`);
  }

  const fIds = Object.keys(payloads).filter((id) => id.startsWith('f'));
  if (fIds.length) {
    const fh = ['payload', 'lib', 'size (B)', 'cold enc ms', 'warm enc ms', 'cold dec ms', 'cached dec ms', 'warm enc ×Pulumi', 'cold enc ×Pulumi', 'round trip'];
    out.push('', '### (f) functions: cold and cached', '', `| ${fh.join(' | ')} |`, `|${fh.map((h, i) => (i < 2 || i === fh.length - 1 ? '---' : '---:')).join('|')}|`);
    for (const id of fIds) {
      const p = payloads[id];
      const pu = p.libs.pulumi;
      for (const name of ['pikala', 'pulumi']) {
        const l = p.libs[name];
        if (!l) continue;
        if (l.status === 'missing') continue;
        if (l.status !== 'ok') {
          out.push(`| ${id} | ${name} | n/a (${cell(l.message)}) |${' |'.repeat(fh.length - 3)}`);
          continue;
        }
        out.push(`| ${[
          id, name, l.size, fmtMs(l.coldEncMs), fmtMs(l.encMs), fmtMs(l.coldDecMs), fmtMs(l.cachedDecMs ?? l.decMs),
          name === 'pulumi' ? '1.00×' : fmtRatio(speed(pu, l, 'encMs')),
          name === 'pulumi' ? '1.00×' : fmtRatio(speed(pu, l, 'coldEncMs')),
          cell(roundTrip(l) + (l.coldNote ? ` (cold: ${l.coldNote})` : '')),
        ].join(' | ')} |`);
      }
    }
    out.push('', 'cold enc = the first `dumps` of the payload in a fresh process (capture machinery not yet warm); cold dec = the first '
      + '`loads` in a fresh process that never imported the defining module; cached dec = loading the same payload again in that '
      + 'process (must not recompile). Pulumi: `runtime.serializeFunction` (async; a collection is captured by a one-line wrapper '
      + 'closure) and its module text compiled and run with `vm`.');
  }

  out.push('', '### Targets', '', '| target | measured | verdict |', '|---|---|---|');
  for (const t of summary.targets) out.push(`| ${cell(t.target)} | ${cell(t.measured)} | ${t.verdict} |`);
  out.push('', 'Targets are reported, never asserted in tests. On this shared 2-core machine, treat speed ratios within about ±1.5× of a threshold as noise (see the spread column).');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------- targets

function verdictOf(values, ok) {
  if (values.some((v) => v.value == null)) {
    const missing = values.find((v) => v.value == null);
    return `n/a (${missing.why ?? 'not measured'})`;
  }
  return values.every((v) => ok(v.value)) ? 'met' : 'not met';
}

function why(p, ...libs) {
  if (!p) return 'payload not run';
  for (const name of libs) {
    const l = p.libs[name];
    if (!l) return `${name} not run`;
    if (l.status !== 'ok') return `${name}: ${l.message}`;
  }
  return undefined;
}

export function evaluateTargets(summary) {
  const P = summary.payloads;
  const T = [];
  const ratioRow = (target, items, threshold) => {
    const vals = items.map(({ label, value, why: w }) => ({ label, value, why: w }));
    const measured = vals.every((v) => v.value == null) ? 'n/a'
      : vals.map((v) => `${v.label} ${v.value == null ? 'n/a' : fmtRatio(v.value)}`).join(', ');
    T.push({ target, measured, verdict: verdictOf(vals, (x) => x >= threshold), threshold });
  };
  const pk = (id) => P[id]?.libs.pikala;
  // 1. every plain-data payload: at least as fast as v8 (both directions); (d) has its own, looser target.
  for (const id of ['a', 'b', 'c', 'e']) {
    if (!P[id]) continue;
    ratioRow(`(${id}) encode and decode ≥ 1.0× v8.serialize`, [
      { label: 'enc', value: speed(P[id].libs.v8, pk(id), 'encMs'), why: why(P[id], 'pikala', 'v8') },
      { label: 'dec', value: speed(P[id].libs.v8, pk(id), 'decMs'), why: why(P[id], 'pikala', 'v8') },
    ], 1.0);
  }
  // 2. (a) ≥ 0.8× msgpackr
  if (P.a) {
    ratioRow('(a) encode and decode ≥ 0.8× msgpackr (records)', [
      { label: 'enc', value: speed(P.a.libs.msgpackr, pk('a'), 'encMs'), why: why(P.a, 'pikala', 'msgpackr') },
      { label: 'dec', value: speed(P.a.libs.msgpackr, pk('a'), 'decMs'), why: why(P.a, 'pikala', 'msgpackr') },
    ], 0.8);
  }
  // 3. ≥ 5× seroval and devalue, every plain-data payload where they run
  for (const peer of ['seroval', 'devalue']) {
    const items = [];
    for (const id of DATA) {
      if (!P[id] || P[id].libs[peer]?.status === 'unsupported') continue;
      for (const [dir, key] of [['enc', 'encMs'], ['dec', 'decMs']]) {
        items.push({ label: `${id} ${dir}`, value: speed(P[id].libs[peer], pk(id), key), why: why(P[id], 'pikala', peer) });
      }
    }
    if (items.length) ratioRow(`≥ 5× ${peer} (encode and decode, every plain-data payload)`, items, 5);
  }
  // 4. (d) within 1.5× of v8
  if (P.d) {
    // v8.deserialize makes the array a view over its input; pikala does the same only with zeroCopy, so that
    // is the like-for-like decode; the default (a copy that owns its memory) is reported beside it.
    const zc = P.d.libs['pikala-zc'];
    ratioRow('(d) encode and decode within 1.5× of v8.serialize (≥ 0.67×)', [
      { label: 'enc', value: speed(P.d.libs.v8, pk('d'), 'encMs'), why: why(P.d, 'pikala', 'v8') },
      zc ? { label: 'dec (zeroCopy)', value: speed(P.d.libs.v8, zc, 'decMs'), why: why(P.d, 'pikala-zc', 'v8') }
        : { label: 'dec', value: speed(P.d.libs.v8, pk('d'), 'decMs'), why: why(P.d, 'pikala', 'v8') },
    ], 1 / 1.5);
    const v8d = P.d.libs.v8;
    const pd = pk('d');
    if (v8d?.status === 'ok' && pd?.status === 'ok' && P.d.memcpyMs && v8d.decMs < P.d.memcpyMs / 4) {
      T[T.length - 1].measured += ` (v8's decode is a zero-copy view over the input, ${fmtMs(v8d.decMs)} ms; `
        + `pikala's default decode copies: ${fmtMs(pd.decMs)} ms = ${(pd.decMs / P.d.memcpyMs).toFixed(1)}× a memcpy of the 8 MB)`;
    }
  }
  // 5. size ≤ v8 on (a) and (c)
  for (const id of ['a', 'c']) {
    if (!P[id]) continue;
    const w = why(P[id], 'pikala', 'v8');
    const v = w ? null : pk(id).size / P[id].libs.v8.size;
    T.push({
      target: `(${id}) output size ≤ v8.serialize`,
      measured: v == null ? 'n/a' : `${pk(id).size} B vs ${P[id].libs.v8.size} B (${v.toFixed(2)}×)`,
      verdict: v == null ? `n/a (${w})` : v <= 1 ? 'met' : 'not met',
    });
  }
  // 6. closure capture ≥ 10× faster than Pulumi: steady state (warm) and the first capture in a process (cold)
  for (const id of ['f1', 'f2', 'f3']) {
    if (!P[id]) continue;
    const w = why(P[id], 'pikala', 'pulumi');
    const what = id === 'f1' ? 'closure capture' : id === 'f2' ? 'capture of the closures' : 'capture of the class and instances';
    ratioRow(`(${id}) ${what} ≥ 10× faster than Pulumi (warm)`, [
      { label: 'warm', value: speed(P[id].libs.pulumi, pk(id), 'encMs'), why: w },
    ], 10);
    ratioRow(`(${id}) ${what} ≥ 10× faster than Pulumi (cold: first in a fresh process)`, [
      { label: 'cold', value: speed(P[id].libs.pulumi, pk(id), 'coldEncMs'), why: w ?? (pk(id)?.coldEncMs == null ? 'cold run missing' : undefined) },
    ], 10);
  }
  return T;
}

// ---------------------------------------------------------------------------------------------- doc

export function renderDoc(summary) {
  const m = summary.meta;
  const libs = Object.entries(m.versions ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
  return `# Performance

Generated by \`node bench/run.mjs --write-doc\` from \`bench/results/latest.json\`; do not edit by hand down to the
notes marker (the generator is \`bench/lib/report.mjs\`; it keeps everything after the marker). Method: \`bench/README.md\`.

- **Measured:** ${m.date}
- **Command:** \`${m.command}\`
- **Machine:** ${m.cpu} (${m.cores} cores), ${m.memGB} GiB RAM, ${m.os}${m.loadAvg ? `; 1-min load average ${m.loadAvg.before} before, ${m.loadAvg.after} after the run` : ''}
- **Runtime:** Node ${m.node}, V8 ${m.v8}
- **Measured build:** ${m.pikala ?? 'pikala'}
- **Libraries:** ${libs}
- **Method:** ${m.runs} fresh processes × ${m.rounds} rounds, round-robin across libraries, ${m.noGc ? 'no forced GC between samples' : '\`gc()\` before every sample'},
  each sample ≥ ${m.minSampleMs} ms; figure = median over processes of the per-process median${m.scale !== 1 ? `; payloads scaled ×${m.scale}` : ''}.

${renderTables(summary)}
`;
}

/**
 * Everything after this line in docs/PERFORMANCE.md is written by hand (analysis of the targets, profiles) and
 * kept by --write-doc, which regenerates only what comes before it.
 */
export const NOTES_MARKER = '<!-- notes: written by hand; node bench/run.mjs --write-doc keeps everything below this line -->';

export function writeDoc(summary, file) {
  let notes = '';
  try {
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf(NOTES_MARKER);
    if (at >= 0) notes = old.slice(at);
  } catch {
    // no document yet
  }
  writeFileSync(file, renderDoc(summary) + (notes === '' ? '' : `\n${notes}`));
}
