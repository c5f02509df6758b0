/**
 * Differential fuzzing of function, closure and class shipping.
 *
 *   node test/fuzz/closures.mjs --seed 1 --count 150 [--workers 2] [--hop 0.3] [--keep] [--json]
 *                               [--components scopeTree,classes]      draw only these components
 *   node test/fuzz/closures.mjs --program 17            print program 17 (its source and ops) and run it alone
 *   node test/fuzz/closures.mjs --program 17 --reduce   ... then shrink it while the same finding persists
 *   PIKALA_DIST=/tmp/x/dist/esm/index.js node test/fuzz/closures.mjs ...   test another build
 *
 * For each program seed (seed, seed+1, ... seed+count-1) closures-gen.mjs writes a small program that builds
 * closures and classes, exported as `api`, and a script of operations on it. Then:
 *  - reference: one process (batched, no pikala loaded) runs every whole script;
 *  - producer: a process runs the script too, dumping { api, regs } before op 0 and before op k (k drawn from
 *    the program seed); its own results must equal the reference's (dumps must not disturb the program);
 *  - candidate: for each dump, a FRESH consumer process, in an empty temporary folder, with the program files
 *    hidden, loads the payload and runs ops k..end; its results must equal the reference's. For some programs
 *    (--hop) the consumer stops at a later op j, dumps the rebuilt values again, and a second fresh consumer
 *    runs ops j..end (shipping what was rebuilt from a payload).
 * Every difference, dump or load error, crash or timeout is a finding, unless `expectedReason` recognises a
 * documented limitation or `knownBug` a reported bug (closures-findings.test.mjs holds their repros).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProgram, rngOf } from './closures-gen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DIST = process.env.PIKALA_DIST ?? join(HERE, '../../dist/esm/index.js');
/** The consumers load with the CommonJS build by default: it starts ~60 ms faster than the ES module tree. */
export const DIST_CJS = DIST.replace(/([\\/])esm([\\/])index\.js$/, '$1cjs$2index.js');
const CHILD = join(HERE, 'closures-child.mjs');
const EXT = { mjs: '.mjs', cjs: '.cjs', script: '.js' };

export const DEFAULTS = {
  seed: 1, count: 20, workers: 2, hop: 0.3, timeout: 30_000, keep: false, pikala: DIST, consumerPikala: DIST_CJS, quiet: true,
};

function childEnv() {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `node script args` and resolves (never rejects) to { code, signal, stderr, timedOut }. */
function runNode(args, { cwd, timeout }) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout, killSignal: 'SIGKILL', env: childEnv(), maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({
        code: err ? (err.code ?? 1) : 0, signal: err?.signal ?? null, timedOut: !!err?.killed, stderr: String(stderr).slice(0, 4000),
      }));
  });
}

/** The index of the second dump of a program, and where its consumer stops to dump again (or null). */
export function plan(programSeed, opCount, hopRate) {
  const r = rngOf((programSeed ^ 0x5bd1e995) >>> 0);
  const k = opCount > 1 ? r.int(1, opCount - 1) : 0;
  const hop = r.chance(hopRate) && k < opCount - 1 ? r.int(k + 1, opCount - 1) : null;
  return { ks: k === 0 ? [0] : [0, k], hop };
}

function readLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Runs a batched child role over items, restarting after a crash; resolves to Map id -> line. */
async function runBatch(role, items, dir, o, name) {
  const lines = new Map();
  let rest = items;
  let round = 0;
  while (rest.length) {
    const out = join(dir, `${name}-${round}.jsonl`);
    const jobFile = join(dir, `${name}-${round}.json`);
    writeFileSync(jobFile, JSON.stringify({
      pikala: o.pikala, out,
      programs: rest.map((it) => ({ id: it.id, file: it.file, mode: it.mode, ops: it.ops, ks: it.ks, payloadBase: join(dir, `payload-${it.id}`) })),
    }));
    const res = await runNode([CHILD, role, jobFile], { cwd: dir, timeout: o.timeout + 2_000 * rest.length });
    for (const line of readLines(out)) lines.set(line.id, line);
    const left = rest.filter((it) => !lines.has(it.id));
    if (res.code !== 0 && left.length) {
      lines.set(left[0].id, { id: left[0].id, crash: `${role} process ${res.timedOut ? 'timed out' : `exited ${res.code ?? res.signal}`}: ${res.stderr}` });
    } else if (left.length) {
      for (const it of left) lines.set(it.id, { id: it.id, crash: `${role} process wrote no result: ${res.stderr}` });
    }
    rest = rest.filter((it) => !lines.has(it.id));
    round++;
  }
  return lines;
}

/** One fresh consumer process in an empty folder. */
async function consume(dir, o, job, tag) {
  const cdir = join(dir, `consumer-${tag}`);
  mkdirSync(cdir);
  copyFileSync(CHILD, join(cdir, 'child.mjs'));
  const out = join(cdir, 'out.json');
  writeFileSync(join(cdir, 'job.json'), JSON.stringify({ ...job, pikala: o.consumerPikala, out }));
  const res = await runNode([join(cdir, 'child.mjs'), 'consume', join(cdir, 'job.json')], { cwd: cdir, timeout: o.timeout });
  if (existsSync(out)) return JSON.parse(readFileSync(out, 'utf8'));
  return { crash: `consumer ${res.timedOut ? 'timed out' : `exited ${res.code ?? res.signal}`}: ${res.stderr}` };
}

async function pool(jobs, workers, fn) {
  const queue = jobs.slice();
  const runners = Array.from({ length: Math.max(1, workers) }, async () => {
    while (queue.length) await fn(queue.shift(), queue);
  });
  await Promise.all(runners);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs programs through reference, producer and consumers. `o.programs`: explicit programs
 * ({ source, mode, ops, ks?, hop?, seed? }) instead of generated ones. Resolves to { items, findings, stats }.
 */
export async function runCampaign(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'pikala-closures-'));
  const progDir = join(dir, 'programs');
  mkdirSync(progDir);
  const programs = o.programs ?? Array.from({ length: o.count }, (_, i) => generateProgram((o.seed + i) >>> 0, o.generator));
  const items = programs.map((prog, id) => {
    const file = join(progDir, `p${id}${EXT[prog.mode]}`);
    writeFileSync(file, prog.source);
    const p = plan(prog.seed ?? id, prog.ops.length, o.hop);
    return { ...prog, id, file, ks: prog.ks ?? p.ks, hop: prog.hop !== undefined ? prog.hop : p.hop };
  });
  const log = (s) => { if (!o.quiet) process.stderr.write(`${s}\n`); };
  try {
    // Reference and producers: batched, in parallel.
    // Two producer batches whatever --workers says: a program's dump may see another's (a direct eval closure
    // ships the realm's script scope, where classic-script programs keep their top-level bindings).
    const chunks = [0, 1].map((w) => items.filter((_, i) => i % 2 === w)).filter((c) => c.length);
    const [reference, ...produced] = await Promise.all([
      runBatch('reference', items, dir, o, 'reference'),
      ...chunks.map((c, w) => runBatch('produce', c, dir, o, `produce${w}`)),
    ]);
    const producer = new Map(produced.flatMap((m) => [...m]));
    log(`reference and producers done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Consumers must not find the program files.
    renameSync(progDir, `${progDir}.hidden`);

    const findings = [];
    const add = (it, f) => findings.push({
      id: it.id, programSeed: it.seed, generated: !o.programs, mode: it.mode, features: it.features, ...f,
    });
    const jobs = [];
    for (const it of items) {
      const ref = reference.get(it.id);
      const prod = producer.get(it.id);
      it.reference = ref;
      if (!ref || ref.crash || ref.error) { add(it, { kind: 'generator', detail: ref?.crash ?? ref?.error }); continue; }
      if (prod.crash || prod.error) { add(it, { kind: 'producer-crash', detail: prod.crash ?? prod.error }); continue; }
      it.warnings = prod.warnings;
      const diverged = prod.results.findIndex((r, i) => !same(r, ref.results[i]));
      if (diverged >= 0) {
        add(it, { kind: 'producer-diverged', index: diverged, op: it.ops[diverged], expected: ref.results[diverged], actual: prod.results[diverged] });
      }
      for (const k of it.ks) {
        const d = prod.dumps[k];
        if (d.error) { add(it, { kind: 'dump-error', k, detail: d.error, stack: d.stack }); continue; }
        const to = it.hop !== null && it.hop > k ? it.hop : it.ops.length;
        jobs.push({ it, k, from: k, to, payload: d.file, hop: to < it.ops.length });
      }
    }
    let consumers = 0;
    let compared = 0;
    await pool(jobs, o.workers, async (job, queue) => {
      const { it, k } = job;
      const tag = `${it.id}-${k}-${job.from}`;
      const redump = job.hop ? join(dir, `payload-${it.id}-k${k}-hop${job.from}-${job.to}.bin`) : undefined;
      consumers++;
      const res = await consume(dir, o, { payload: job.payload, ops: it.ops, from: job.from, to: job.to, redump }, tag);
      const where = job.from === k ? { k } : { k, hop: job.from };
      if (res.crash) { add(it, { kind: 'consumer-crash', ...where, detail: res.crash }); return; }
      if (res.loadError) { add(it, { kind: job.from === k ? 'load-error' : 'reload-error', ...where, detail: res.loadError, stack: res.stack }); return; }
      compared += res.results.length;
      const bad = res.results.findIndex((r, i) => !same(r, it.reference.results[job.from + i]));
      if (bad >= 0) {
        const index = job.from + bad;
        add(it, { kind: job.from === k ? 'mismatch' : 'mismatch-after-redump', ...where, index, op: it.ops[index], expected: it.reference.results[index], actual: res.results[bad] });
        return;
      }
      if (res.redumpError) { add(it, { kind: 'redump-error', ...where, at: job.to, detail: res.redumpError, stack: res.stack }); return; }
      if (job.hop) queue.push({ it, k, from: job.to, to: it.ops.length, payload: redump, hop: false });
    });
    // The producer is batched and Node emits each warning once per process: re-run the producer of each
    // program with a finding alone, in a fresh process, to learn which warnings its dumps emit.
    const suspects = items.filter((it) => findings.some((f) => f.id === it.id && /mismatch/.test(f.kind)));
    for (const it of suspects) {
      const tdir = join(dir, `triage-${it.id}`);
      mkdirSync(tdir);
      const line = (await runBatch('produce', [{ ...it, file: it.file.replace(progDir, `${progDir}.hidden`) }], tdir, o, 'produce')).get(it.id);
      it.warnings = line?.warnings ?? it.warnings;
    }
    for (const f of findings) {
      const it = items[f.id];
      f.knownBug = knownBug(f, it);
      f.limitation = f.knownBug ? null : expectedReason(f, it);
    }
    const stats = {
      programs: items.length, ops: items.reduce((s, it) => s + it.ops.length, 0), consumers, compared,
      seconds: (Date.now() - started) / 1000,
    };
    return { items, findings, stats, dir };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Documented limitations (README, Limitations) a finding may stem from; the generator avoids most of them, so
 * this stays short. Returns a reason or null.
 */
export function expectedReason(f, it) {
  if (it?.warnings?.some((w) => w.startsWith('PIKALA_SHARED_SCOPE_ASSUMED')) && /mismatch/.test(f.kind)) {
    return 'README Limitations: shared state in rare cases (PIKALA_SHARED_SCOPE_ASSUMED was emitted)';
  }
  if (it?.warnings?.some((w) => w.startsWith('PIKALA_ARGUMENTS_UNMAPPED')) && /mismatch/.test(f.kind)) {
    return 'README Limitations: sloppy-mode arguments objects arrive unmapped (PIKALA_ARGUMENTS_UNMAPPED was emitted)';
  }
  return null;
}

/** Reported bugs, each with its repro in closures-findings.test.mjs. Returns the bug's name or null. */
export const KNOWN_BUGS = [
  // Each: { name, match: (finding, item) => boolean } while a reported bug is open.
];
export function knownBug(f, it) {
  for (const bug of KNOWN_BUGS) if (bug.match(f, it)) return bug.name;
  return null;
}

/** Findings that fail the fixed-seed test: neither a documented limitation nor a reported bug. */
export const unexpected = (findings) => findings.filter((f) => !f.limitation && !f.knownBug);

export function describeFinding(f) {
  const where = [f.k !== undefined ? `k=${f.k}` : '', f.hop !== undefined ? `hop=${f.hop}` : '', f.index !== undefined ? `op ${f.index}` : ''].filter(Boolean).join(' ');
  const lines = [`[${f.kind}] program ${f.programSeed} (${f.mode}) ${where}${f.limitation ? ` — expected: ${f.limitation}` : ''}${f.knownBug ? ` — known bug: ${f.knownBug}` : ''}`];
  if (f.op) lines.push(`  op:       ${JSON.stringify(f.op)}`);
  if (f.expected !== undefined) lines.push(`  expected: ${JSON.stringify(f.expected)}`);
  if (f.actual !== undefined) lines.push(`  actual:   ${JSON.stringify(f.actual)}`);
  if (f.detail) lines.push(`  detail:   ${String(f.detail).split('\n').slice(0, 4).join('\n            ')}`);
  lines.push(`  features: ${f.features?.join(', ')}`);
  if (f.generated) lines.push(`  replay:   node test/fuzz/closures.mjs --program ${f.programSeed}`);
  return lines.join('\n');
}

export function report(result) {
  const { stats, findings } = result;
  const lines = [`closure fuzz: ${stats.programs} programs, ${stats.ops} ops, ${stats.consumers} consumer processes, ` +
    `${stats.compared} candidate results compared, ${stats.seconds.toFixed(1)} s`];
  const kinds = {};
  for (const f of findings) {
    const key = `${f.kind}${f.limitation ? ' (documented limitation)' : f.knownBug ? ` (known: ${f.knownBug})` : ''}`;
    kinds[key] = (kinds[key] ?? 0) + 1;
  }
  for (const [k, n] of Object.entries(kinds)) lines.push(`  ${k}: ${n}`);
  // Every unexpected finding in full; one example of each documented limitation and known bug.
  const shown = new Set();
  for (const f of findings) {
    const group = f.limitation ?? f.knownBug;
    if (group && shown.has(group)) continue;
    if (group) shown.add(group);
    lines.push(describeFinding(f));
  }
  return lines.join('\n');
}

/** Runs one explicit program (source, mode, ops; ks and hop optional) and resolves to its findings. */
export async function checkProgram(program, options = {}) {
  const { findings } = await runCampaign({ ...options, programs: [{ seed: 0, features: [], ...program }] });
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// A simple reducer: drops ops, then source lines, while a finding of the same kind (same op when a mismatch)
// persists and the program still runs in the reference.
// ---------------------------------------------------------------------------------------------------------

export async function reduce(program, finding, options = {}) {
  let cur = { ...program, ks: [finding.k ?? 0], hop: null };
  const sig = (f) => f.kind === finding.kind;
  const holds = async (cand) => {
    try {
      const fs = await checkProgram(cand, { ...options, hop: 0 });
      return fs.some(sig);
    } catch { return false; }
  };
  const log = (s) => process.stderr.write(`${s}\n`);
  // Ops: remove one at a time (keeping k pointing at the same op boundary).
  for (let i = cur.ops.length - 1; i >= 0; i--) {
    const k = cur.ks[0];
    const ops = cur.ops.filter((_, j) => j !== i);
    const cand = { ...cur, ops, ks: [i < k ? k - 1 : k] };
    if (cand.ks[0] > ops.length) continue;
    if (await holds(cand)) { cur = cand; log(`ops: ${cur.ops.length}`); }
  }
  // Source lines: chunks, then single lines.
  for (let size = 8; size >= 1; size = Math.floor(size / 2)) {
    let lines = cur.source.split('\n');
    for (let i = 0; i < lines.length;) {
      const cand = { ...cur, source: [...lines.slice(0, i), ...lines.slice(i + size)].join('\n') };
      if (await holds(cand)) { cur = cand; lines = cur.source.split('\n'); log(`lines: ${lines.length}`); } else i += size;
    }
    if (size === 1) break;
  }
  return cur;
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const name = a.slice(2).replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) o[name] = true;
    else { o[name] = Number.isNaN(Number(next)) ? next : Number(next); i++; }
  }
  return o;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args.components === 'string') args.generator = { components: args.components.split(','), minComponents: 1, maxComponents: 2 };
  if (args.program !== undefined) {
    const prog = generateProgram(args.program >>> 0, args.generator);
    console.log(prog.source);
    console.log('ops:');
    prog.ops.forEach((op, i) => console.log(`  ${i}: ${JSON.stringify(op)}`));
    const result = await runCampaign({ ...args, programs: [prog], quiet: false });
    console.log(report(result));
    if (args.reduce && result.findings.length) {
      const small = await reduce(prog, result.findings[0], args);
      console.log('--- reduced ---');
      console.log(small.source);
      console.log(`ops (dump before op ${small.ks[0]}):`);
      small.ops.forEach((op, i) => console.log(`  ${i}: ${JSON.stringify(op)}`));
    }
  } else {
    const result = await runCampaign({ ...args, quiet: false });
    if (args.json) console.log(JSON.stringify(result.findings, null, 1));
    else console.log(report(result));
    process.exitCode = unexpected(result.findings).length ? 1 : 0;
  }
}
