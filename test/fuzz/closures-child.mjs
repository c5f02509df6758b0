/**
 * The child processes of the closure differential fuzzer (closures.mjs): it imports nothing but Node's own
 * modules, so a consumer can run a copy of it from an empty temporary folder.
 *
 *   node closures-child.mjs reference <job.json>   run every program's whole script; no pikala loaded
 *   node closures-child.mjs produce   <job.json>   run every program's script, dumping { api, regs } before
 *                                                  the ops listed in `ks` (the results must equal the reference's)
 *   node closures-child.mjs consume   <job.json>   load one payload, run ops [from, to), optionally dump again
 *
 * Results of ops are snapshots (`snap`): plain JSON that says what a value looks like (own properties with
 * their attributes, class names, Map/Set entries, shared references within one result), never calling an
 * accessor. A thrown error becomes { error: 'Name: message' }.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { types } from 'node:util';
import vm from 'node:vm';

const FUNCTION_KEYS_SKIPPED = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

function className(v) {
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return 'null';
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof ctor === 'function' ? ctor.name : '?';
}

/** A JSON description of `value`: what the reference and the candidate must agree on. */
export function snap(value) {
  const seen = new Map();
  const key = (k) => (typeof k === 'symbol' ? `@@${k.description}` : k);
  const props = (v, depth, skip) => {
    const out = [];
    for (const k of Reflect.ownKeys(v)) {
      if (skip?.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(v, k);
      const flags = `${d.enumerable ? 'e' : ''}${d.configurable ? 'c' : ''}${'value' in d && d.writable ? 'w' : ''}`;
      out.push([key(k), 'value' in d ? walk(d.value, depth + 1) : { get: !!d.get, set: !!d.set }, flags]);
      if (out.length >= 40) break;
    }
    return out;
  };
  const walk = (v, depth) => {
    switch (typeof v) {
      case 'number': return Object.is(v, -0) ? { num: '-0' } : Number.isFinite(v) ? v : { num: String(v) };
      case 'string': case 'boolean': return v;
      case 'undefined': return { undef: 1 };
      case 'bigint': return { bigint: String(v) };
      case 'symbol': return { symbol: String(v.description) };
      default: break;
    }
    if (v === null) return null;
    if (seen.has(v)) return { ref: seen.get(v) };
    seen.set(v, seen.size);
    if (depth > 6) return { deep: 1 };
    if (typeof v === 'function') {
      return { fn: v.name, length: v.length, proto: Object.hasOwn(v, 'prototype'), props: props(v, depth, FUNCTION_KEYS_SKIPPED) };
    }
    const cls = className(v);
    if (Array.isArray(v)) {
      const items = [];
      for (let i = 0; i < Math.min(v.length, 50); i++) items.push(i in v ? walk(v[i], depth + 1) : { hole: 1 });
      return { arr: items, cls, length: v.length };
    }
    if (types.isMap(v)) return { map: [...v].slice(0, 50).map(([k, x]) => [walk(k, depth + 1), walk(x, depth + 1)]), cls };
    if (types.isSet(v)) return { set: [...v].slice(0, 50).map((x) => walk(x, depth + 1)), cls };
    if (types.isDate(v)) return { date: v.getTime() };
    if (types.isRegExp(v)) return { re: String(v), lastIndex: v.lastIndex };
    if (types.isNativeError(v) || v instanceof Error) return { err: cls, props: props(v, depth, new Set(['stack'])) };
    if (types.isPromise(v)) return { promise: 1 };
    return { obj: cls, props: props(v, depth) };
  };
  return walk(value, 0);
}

function describeError(e) {
  if (e instanceof Error || types.isNativeError(e)) {
    return `${e.name}: ${e.message}${e.code && String(e.code).startsWith('PIKALA') ? ` [${e.code}${e.path ? ` at ${e.path}` : ''}]` : ''}`;
  }
  return `thrown ${JSON.stringify(snap(e))}`;
}

function at(container, k) {
  if (container === null || container === undefined) throw new TypeError(`cannot read ${String(k)} of ${container}`);
  return types.isMap(container) && !(k in container) ? container.get(k) : container[k];
}

/** Follows `path` from env ({ api, regs }); `parentOnly` stops before the last segment (for a write). */
function resolvePath(env, path, parentOnly = false) {
  let parent;
  let value = env;
  const end = parentOnly ? path.length - 1 : path.length;
  for (let i = 0; i < end; i++) { parent = value; value = at(value, path[i]); }
  return { parent, value };
}

function argsOf(env, args = []) {
  return args.map((a) => (a && typeof a === 'object' && a.$ref ? resolvePath(env, a.$ref).value : a));
}

async function collect(it) {
  const items = [];
  let done = false;
  let ret;
  for (let i = 0; i < 8; i++) {
    const step = await it.next();
    if (step.done) { done = true; ret = step.value; break; }
    items.push(step.value);
  }
  return { items, done, ret };
}

/** Runs one op; returns its result's snapshot or { error }. */
export async function runOp(env, op) {
  try {
    let r;
    if (op.op === 'same') return resolvePath(env, op.path).value === resolvePath(env, op.other).value;
    if (op.op === 'set') {
      const { value: parent } = resolvePath(env, op.path, true);
      parent[op.path[op.path.length - 1]] = op.value;
    } else {
      const { parent, value } = resolvePath(env, op.path);
      if (op.op === 'get') r = value;
      else if (op.op === 'new') r = Reflect.construct(value, argsOf(env, op.args));
      else r = Reflect.apply(value, parent, argsOf(env, op.args));
      if (types.isPromise(r)) r = await r;
      if (op.op === 'iter') {
        if (r && typeof r[Symbol.asyncIterator] === 'function') return { iter: snap(await collect(r[Symbol.asyncIterator]())) };
        return { iter: snap(await collect(r[Symbol.iterator]())) };
      }
    }
    if (op.store) env.regs[op.store] = r;
    return snap(r);
  } catch (e) {
    return { error: describeError(e) };
  }
}

export async function runOps(env, ops, from, to) {
  const out = [];
  for (let i = from; i < to; i++) out.push(await runOp(env, ops[i]));
  return out;
}

export async function loadProgram(file, mode) {
  if (mode === 'script') return vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
  const m = await import(pathToFileURL(file).href);
  return m.api ?? m.default?.api;
}

const ROLES = {
  /** job: { programs: [{ id, file, mode, ops }], out } — one JSON line per program. */
  async reference(job) {
    for (const prog of job.programs) {
      let line;
      try {
        const env = { api: await loadProgram(prog.file, prog.mode), regs: {} };
        line = { id: prog.id, results: await runOps(env, prog.ops, 0, prog.ops.length) };
      } catch (e) {
        line = { id: prog.id, error: describeError(e) };
      }
      appendFileSync(job.out, `${JSON.stringify(line)}\n`);
    }
  },

  /** job: { pikala, programs: [{ id, file, mode, ops, ks: [k...], payloadBase }], out } */
  async produce(job) {
    const pikala = await import(pathToFileURL(job.pikala).href);
    const warnings = [];
    process.on('warning', (w) => warnings.push(`${w.code ?? w.name}: ${w.message}`));
    for (const prog of job.programs) {
      warnings.length = 0;
      let line;
      try {
        const env = { api: await loadProgram(prog.file, prog.mode), regs: {} };
        const results = [];
        const dumps = {};
        for (let i = 0; i <= prog.ops.length; i++) {
          if (prog.ks.includes(i)) {
            try {
              const bytes = pikala.dumps(env);
              const file = `${prog.payloadBase}-k${i}.bin`;
              writeFileSync(file, bytes);
              dumps[i] = { file, size: bytes.length };
            } catch (e) {
              dumps[i] = { error: describeError(e), stack: String(e?.stack).split('\n').slice(0, 6).join('\n') };
            }
          }
          if (i < prog.ops.length) results.push(await runOp(env, prog.ops[i]));
        }
        await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
        line = { id: prog.id, results, dumps, warnings: warnings.slice() };
      } catch (e) {
        line = { id: prog.id, error: describeError(e) };
      }
      appendFileSync(job.out, `${JSON.stringify(line)}\n`);
    }
  },

  /** job: { pikala, payload, ops, from, to, redump?: file, out } */
  async consume(job) {
    const pikala = /[\\/]cjs[\\/]/.test(job.pikala) ? createRequire(import.meta.url)(job.pikala) : await import(pathToFileURL(job.pikala).href);
    let out;
    let env;
    try {
      env = pikala.loads(readFileSync(job.payload));
    } catch (e) {
      out = { loadError: describeError(e), stack: String(e?.stack).split('\n').slice(0, 8).join('\n') };
    }
    if (env) {
      out = { results: await runOps(env, job.ops, job.from, job.to) };
      if (job.redump) {
        try {
          writeFileSync(job.redump, pikala.dumps(env));
        } catch (e) {
          out.redumpError = describeError(e);
          out.stack = String(e?.stack).split('\n').slice(0, 8).join('\n');
        }
      }
    }
    writeFileSync(job.out, JSON.stringify(out));
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [role, jobFile] = process.argv.slice(2);
  await ROLES[role](JSON.parse(readFileSync(jobFile, 'utf8')));
  process.exit(0);
}
