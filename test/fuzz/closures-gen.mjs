/**
 * The program generator of the closure differential fuzzer (closures.mjs runs what it makes).
 *
 * `generateProgram(seed)` returns `{ seed, mode, source, ops, features }`: a small, valid, deterministic
 * JavaScript program (an ES module, a CommonJS module or a classic script run with vm.runInThisContext, as a
 * REPL would) that builds closures and classes and exports them as one object `api`, and a script of
 * operations on `api` to run in order:
 *
 *   { op: 'call', path: ['api', 'c0_a', 'inc'], args: [2] }           parent[key](...args), awaited
 *   { op: 'call', path: [...], args: [], store: 'r1' }                 ... and kept as regs.r1 for later ops
 *   { op: 'iter', path: [...], args: [3] }                             call, then take up to 8 items (async too)
 *   { op: 'new',  path: [...], args: [], store: 'r2' }                 new value(...args)
 *   { op: 'get',  path: [...] }  /  { op: 'set', path: [...], value }  property read (getters run) / write
 *
 * Paths start at 'api' or 'regs'; a segment on a Map reads map.get(segment). An argument { $ref: path } is the
 * value at that path (a function or object passed along).
 *
 * The program is a sequence of independent "components" (counter factories, nested factories, loop closures,
 * shared mutable state, accessors, `this`/`arguments`, generators and async functions, classes with fields,
 * statics, #private, super and accessors, default and destructuring parameters, recursion, functions in
 * containers, bound functions, block/catch scopes, higher-order functions, ...), some of which read or assign
 * a few program-wide globals (`let`/`var`/`const`) or call into earlier components, so state is shared across
 * them. Every name a component declares carries its prefix (`c3_`) and, in script mode, the program's tag (a
 * classic script's top-level names are realm-wide).
 *
 * The generator avoids what README's Limitations documents as unsupported or different: `with`,
 * `import.meta`, reading a binding in its TDZ, assigning a `const`, reassigning a function declaration that
 * calls itself by name, methods using `super` copied to another object, arrows using `super`, async arrows
 * using `this`.
 */
import { mulberry32 } from './mulberry32.mjs';

/** The generator's random source (mulberry32): same seed, same program. */
export function rngOf(seed) {
  const next = mulberry32(seed);
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    shuffle(xs) {
      const out = xs.slice();
      for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [out[i], out[j]] = [out[j], out[i]]; }
      return out;
    },
  };
}

const MODES = ['mjs', 'mjs', 'cjs', 'cjs', 'script'];

class Program {
  constructor(seed, opts) {
    this.seed = seed;
    this.r = rngOf(seed);
    this.mode = opts.mode ?? this.r.pick(MODES);
    // Sloppy mode only where the language allows it: CommonJS and scripts, without 'use strict'.
    this.strict = this.mode === 'mjs' || this.r.chance(0.4);
    this.tag = this.mode === 'script' ? `s${(seed >>> 0).toString(36)}_` : '';
    this.imports = [];
    this.lines = [];
    this.exports = [];
    this.seqs = [];
    this.gens = [];
    this.features = new Set();
    this.globals = [];
    this.regCount = 0;
    this.callables = []; // zero-argument calls returning plain data, for glue components: { expr, feature }
  }

  int(lo, hi) { return this.r.int(lo, hi); }
  chance(p) { return this.r.chance(p); }
  pick(xs) { return this.r.pick(xs); }
  line(text) { this.lines.push(text); }
  feature(name) { this.features.add(name); }
  reg() { return `r${this.regCount++}`; }
  export(key, expr = key) { this.exports.push([key, expr]); }
  /** An ordered sequence of ops: they run in this order (interleaved with others). */
  seq(...ops) { this.seqs.push(ops.filter(Boolean)); }
  /** A repeatable op generator with a weight. */
  op(weight, make) { this.gens.push({ weight, make }); }

  declareGlobals() {
    const n = this.int(1, 3);
    for (let i = 0; i < n; i++) {
      const kind = this.pick(['let', 'var', 'const']);
      const name = `${this.tag}g${i}`;
      this.globals.push({ name, kind });
      this.line(`${kind} ${name} = ${this.int(1, 9)};`);
    }
  }
  /** An expression readable anywhere: a global or a literal. */
  readable() {
    return this.chance(0.6) ? this.pick(this.globals).name : String(this.int(1, 9));
  }
  /** A global that may be assigned, or null. */
  writable() {
    const ws = this.globals.filter((g) => g.kind !== 'const');
    return ws.length ? this.pick(ws).name : null;
  }
  /** A statement that bumps an assignable global, or ''. */
  bumpGlobal() {
    const w = this.chance(0.5) ? this.writable() : null;
    return w ? ` ${w} += 1;` : '';
  }

  finish() {
    const head = [];
    if (this.strict && this.mode !== 'mjs') head.push("'use strict';");
    head.push(`// pikala closure fuzz program, seed ${this.seed}, mode ${this.mode}`);
    head.push(...this.imports);
    const entries = this.exports.map(([k, e]) => (k === e ? `  ${k},` : `  ${k}: ${e},`)).join('\n');
    let tail;
    if (this.mode === 'mjs') tail = `export const api = {\n${entries}\n};`;
    else if (this.mode === 'cjs') tail = `module.exports = { api: {\n${entries}\n} };`;
    else tail = `({\n${entries}\n});`; // a classic script: its completion value is the api
    return [...head, ...this.lines, tail, ''].join('\n');
  }

  /** The script: every sequence in its own order, interleaved with repeatable ops. */
  script(length) {
    const queues = this.seqs.map((s) => s.slice()).filter((s) => s.length);
    const ops = [];
    const total = this.gens.reduce((s, g) => s + g.weight, 0);
    while (ops.length < length || queues.some((q) => q.length)) {
      const seqLeft = queues.filter((q) => q.length);
      if (seqLeft.length && (this.chance(0.35) || ops.length >= length || !this.gens.length)) {
        ops.push(this.pick(seqLeft).shift());
        continue;
      }
      if (!this.gens.length) break;
      let x = this.r.next() * total;
      const g = this.gens.find((gen) => (x -= gen.weight) < 0) ?? this.gens[this.gens.length - 1];
      const op = g.make();
      if (op) ops.push(op);
    }
    return ops;
  }
}

const call = (path, args = [], extra = {}) => ({ op: 'call', path, args, ...extra });
const get = (path) => ({ op: 'get', path });
const set = (path, value) => ({ op: 'set', path, value });
const iter = (path, args = []) => ({ op: 'iter', path, args });
const make = (path, args = [], extra = {}) => ({ op: 'new', path, args, ...extra });
const sameOp = (path, other) => ({ op: 'same', path, other });

// ---------------------------------------------------------------------------------------------------------
// Components. Each declares its code with prefix c, exports some of it and contributes ops.
// ---------------------------------------------------------------------------------------------------------

function counter(p, c) {
  p.feature('counter-factory');
  const decl = p.pick(['let', 'var']);
  const step = p.readable();
  const arrow = p.chance(0.5);
  const calls = p.chance(0.5);
  const s1 = p.int(0, 3);
  const s2 = p.chance(0.6) ? s1 : p.int(0, 3); // equal values: the scope prober must tell the calls apart
  p.line(`function ${c}make(start, step = ${step}) {
  ${decl} count = start;${calls ? '\n  let calls = 0;' : ''}
  return {
    ${arrow ? 'inc: (by = step) =>' : 'inc(by = step)'} { count += by;${calls ? ' calls++;' : ''} return count; },
    dec: () => --count,
    get value() { return count; },
    reset() { count = start;${p.bumpGlobal()} return count; },${calls ? '\n    stats: () => ({ count, calls, step }),' : ''}
  };
}
const ${c}a = ${c}make(${s1});
const ${c}b = ${c}make(${s2});`);
  p.export(`${c}a`); p.export(`${c}b`); p.export(`${c}make`);
  const who = () => p.pick([`${c}a`, `${c}b`]);
  p.op(3, () => call(['api', who(), 'inc'], p.chance(0.5) ? [] : [p.int(-2, 5)]));
  p.op(1, () => call(['api', who(), 'dec']));
  p.op(2, () => get(['api', who(), 'value']));
  p.op(0.5, () => call(['api', who(), 'reset']));
  if (calls) p.op(1, () => call(['api', who(), 'stats']));
  const r = p.reg();
  p.seq(call(['api', `${c}make`], [p.int(0, 3)], { store: r }), call(['regs', r, 'inc'], [2]), get(['regs', r, 'value']),
    call(['regs', r, 'inc']));
  p.callables.push(`${c}a.value`);
}

function nested(p, c) {
  p.feature('nested-factories');
  const d1 = p.pick(['let', 'var', 'const']);
  const d2 = p.pick(['let', 'var', 'const']);
  const dflt = p.pick(['a', 'x', 'b', p.readable()]);
  const A = p.int(1, 4);
  const B = p.int(1, 4);
  const sibling = p.chance(0.5);
  const mutX = d1 !== 'const' ? ' x += 1;' : '';
  const mutY = d2 !== 'const' ? ' y += c;' : '';
  p.line(`function ${c}outer(a) {
  ${d1} x = a * 2;
  return function ${c}mid(b) {
    ${d2} y = x + b;
    const f = (c = ${dflt}) => {${mutX}${mutY}${p.bumpGlobal()} return [a, x, y, c]; };${sibling ? `
    f.peek = function () { return { x, y }; };` : ''}
    return f;
  };
}
const ${c}m1 = ${c}outer(${A});
const ${c}f1 = ${c}m1(${B});
const ${c}f2 = ${c}m1(${p.chance(0.5) ? B : p.int(1, 4)});
const ${c}f3 = ${c}outer(${A})(${B});`);
  for (const k of ['m1', 'f1', 'f2', 'f3']) p.export(`${c}${k}`);
  p.op(4, () => call(['api', p.pick([`${c}f1`, `${c}f2`, `${c}f3`])], p.chance(0.6) ? [] : [p.int(0, 5)]));
  if (sibling) p.op(1, () => call(['api', p.pick([`${c}f1`, `${c}f2`, `${c}f3`]), 'peek']));
  const r = p.reg();
  p.seq(call(['api', `${c}m1`], [p.int(0, 3)], { store: r }), call(['regs', r], []), call(['api', `${c}f1`]), call(['regs', r], [1]));
}

function loops(p, c) {
  const variant = p.int(0, 7);
  const N = p.int(2, 4);
  const K = p.int(1, 5);
  const g = p.readable();
  let code;
  switch (variant) {
    case 0: code = `for (let i = 0; i < ${N}; i++) ${c}fns.push(() => i * ${K} + ${g});`; p.feature('loop-let'); break;
    case 1: code = `for (var ${c}i = 0; ${c}i < ${N}; ${c}i++) ${c}fns.push(() => ${c}i + ${g});`; p.feature('loop-var'); break;
    case 2: code = `for (const v of [${Array.from({ length: N }, () => p.int(0, 9)).join(', ')}]) ${c}fns.push((d = v) => d * 2 + v);`; p.feature('loop-for-of'); break;
    case 3: code = `for (let i = 0; i < ${N}; i++) { let acc = i * 10; ${c}fns.push(() => (acc += i + ${g})); }`; p.feature('loop-block-let'); break;
    case 4: code = `for (let i = 0; i < ${N}; i++) { ${c}fns.push(() => ++i); }`; p.feature('loop-mutated-let'); break;
    case 5: code = `let ${c}j = 0;\nwhile (${c}j < ${N}) { const jj = ${c}j; ${c}fns.push(() => [jj, ${c}j]); ${c}j++; }`; p.feature('loop-while'); break;
    case 6: code = `for (const k in { a: 1, b: 2, c: 3 }) ${c}fns.push(() => k + ${g});`; p.feature('loop-for-in'); break;
    default: code = `[${Array.from({ length: N }, (_, i) => i + 1).join(', ')}].forEach((n, idx) => { let seen = 0; ${c}fns.push(() => [n * idx, ++seen]); });`; p.feature('loop-foreach'); break;
  }
  const count = variant === 6 ? 3 : N;
  p.line(`const ${c}fns = [];\n${code}`);
  if (p.chance(0.4)) {
    p.line(`const ${c}all = () => ${c}fns.map((f) => f());`);
    p.export(`${c}all`);
    p.op(1, () => call(['api', `${c}all`]));
  }
  p.export(`${c}fns`);
  p.op(4, () => call(['api', `${c}fns`, p.int(0, count - 1)]));
}

function sharedState(p, c) {
  p.feature('shared-mutable-state');
  p.line(`const ${c}log = [];
const ${c}index = new Map();
const ${c}seen = new Set();
const ${c}stats = { n: 0, last: null };
function ${c}add(x) {
  ${c}log.push(x);
  ${c}index.set(x, (${c}index.get(x) ?? 0) + 1);
  ${c}seen.add(typeof x);
  ${c}stats.n++;
  ${c}stats.last = x;${p.bumpGlobal()}
  return ${c}log.length;
}
const ${c}view = () => ({ log: ${c}log.slice(), index: [...${c}index], seen: [...${c}seen], n: ${c}stats.n });
const ${c}clear = () => { ${c}log.length = 0; ${c}index.clear(); return ${c}stats; };
const ${c}same = (o) => o === ${c}stats;`);
  for (const k of ['add', 'view', 'clear', 'stats', 'log', 'same']) p.export(`${c}${k}`);
  p.op(4, () => call(['api', `${c}add`], [p.chance(0.5) ? p.int(0, 4) : p.pick(['a', 'b'])]));
  p.op(2, () => call(['api', `${c}view`]));
  p.op(1, () => get(['api', `${c}stats`]));
  p.op(1, () => get(['api', `${c}log`]));
  p.op(0.5, () => call(['api', `${c}clear`]));
  p.op(0.5, () => call(['api', `${c}same`], [{ $ref: ['api', `${c}stats`] }]));
  p.callables.push(`${c}view()`);
}

function accessors(p, c) {
  p.feature('object-accessors-this');
  const F = p.int(1, 3);
  const g = p.readable();
  p.line(`const ${c}obj = {
  _v: ${p.int(0, 5)},
  tag: '${c}t',
  get v() { return this._v * ${F} + ${g}; },
  set v(x) { this._v = x - 1; },
  bump(n = 1) { this._v += n; return this.v; },
  self() { return this.tag + ':' + this._v; },
  nested: { depth: 2, up() { return this.depth++; } },
};`);
  p.export(`${c}obj`);
  p.op(2, () => get(['api', `${c}obj`, 'v']));
  p.op(1, () => set(['api', `${c}obj`, 'v'], p.int(0, 9)));
  p.op(2, () => call(['api', `${c}obj`, 'bump'], p.chance(0.5) ? [] : [p.int(1, 3)]));
  p.op(1, () => call(['api', `${c}obj`, 'self']));
  p.op(1, () => call(['api', `${c}obj`, 'nested', 'up']));
  p.callables.push(`${c}obj.v`);
}

function thisArguments(p, c) {
  p.feature('arrow-this-arguments');
  const sloppyMapped = !p.strict && p.chance(0.5);
  p.line(`function ${c}Maker(k) {
  this.k = k;
  this.incr = () => ++this.k;
  this.args = () => Array.from(arguments);
  this.both = () => [this.k, arguments.length, arguments[0]];
}
const ${c}m = new ${c}Maker(${p.int(0, 5)});
function ${c}withArgs() {
  const n = arguments.length;
  return (i) => [arguments[i], n, arguments.length];
}
const ${c}wa = ${c}withArgs(${p.int(0, 9)}, 'x', ${p.int(0, 9)});
const ${c}o = { k: ${p.int(1, 4)}, make() { return (d = 1) => (this.k += d); } };
const ${c}mk = ${c}o.make();`);
  p.export(`${c}m`); p.export(`${c}wa`); p.export(`${c}o`); p.export(`${c}mk`);
  p.op(2, () => call(['api', `${c}m`, 'incr']));
  p.op(1, () => call(['api', `${c}m`, p.pick(['args', 'both'])]));
  p.op(1, () => get(['api', `${c}m`, 'k']));
  p.op(2, () => call(['api', `${c}wa`], [p.int(0, 3)]));
  p.op(2, () => call(['api', `${c}mk`], p.chance(0.5) ? [] : [p.int(1, 3)]));
  p.op(1, () => get(['api', `${c}o`, 'k']));
  if (sloppyMapped) {
    // Sloppy functions with simple parameters have a mapped arguments object: a parameter and arguments[0] alias.
    p.feature('sloppy-mapped-arguments');
    p.line(`function ${c}mapped(a) { return { bump: () => { a++; return [a, arguments[0]]; }, set: (v) => { arguments[0] = v; return a; } }; }
const ${c}ma = ${c}mapped(${p.int(0, 5)});`);
    p.export(`${c}ma`);
    p.op(2, () => call(['api', `${c}ma`, 'bump']));
    p.op(1, () => call(['api', `${c}ma`, 'set'], [p.int(0, 9)]));
  }
  if (p.chance(0.4)) {
    p.feature('new-target');
    p.line(`function ${c}Ctor(v) { if (!new.target) return new ${c}Ctor(v + 100); this.v = v; this.nt = () => new.target === ${c}Ctor; }
const ${c}ci = ${c}Ctor(${p.int(0, 5)});`);
    p.export(`${c}Ctor`); p.export(`${c}ci`);
    p.op(1, () => call(['api', `${c}ci`, 'nt']));
    p.op(1, () => call(['api', `${c}Ctor`], [p.int(0, 3)]));
  }
}

function genAsync(p, c) {
  p.feature('generators-async');
  const K = p.int(1, 3);
  p.line(`let ${c}total = ${p.int(0, 5)};
function* ${c}gen(n) { for (let i = 0; i < n; i++) { ${c}total += i; yield i * ${K} + ${c}total; } return 'done'; }
async function ${c}acc(x) { await null; ${c}total += x; return ${c}total; }
const ${c}aa = async (x = 1) => { const r = await ${c}acc(x); return [r, ${c}total * 2]; };
async function* ${c}agen(n) { for (let i = 0; i < n; i++) { await null; yield i + ${c}total; } }
const ${c}items = { a: ${p.int(1, 5)}, *each() { yield this.a; yield* [${c}total, ${K}]; }, async later() { await 0; return this.a + ${c}total; } };
const ${c}read = () => ${c}total;`);
  for (const k of ['gen', 'acc', 'aa', 'agen', 'items', 'read']) p.export(`${c}${k}`);
  p.op(2, () => iter(['api', `${c}gen`], [p.int(0, 4)]));
  p.op(2, () => call(['api', `${c}acc`], [p.int(0, 4)]));
  p.op(1, () => call(['api', `${c}aa`], p.chance(0.5) ? [] : [p.int(0, 3)]));
  p.op(1, () => iter(['api', `${c}agen`], [p.int(0, 3)]));
  p.op(1, () => iter(['api', `${c}items`, 'each']));
  p.op(1, () => call(['api', `${c}items`, 'later']));
  p.op(1, () => call(['api', `${c}read`]));
  p.callables.push(`${c}read()`);
}

function classes(p, c) {
  p.feature('classes');
  const priv = p.chance(0.7);
  const staticPriv = priv && p.chance(0.5);
  const staticBlock = p.chance(0.4);
  const accessor = p.chance(0.6);
  const derived = p.chance(0.7);
  const g = p.readable();
  const privMethod = priv && p.chance(0.5);
  const arrowField = p.chance(0.4);
  const lines = [`class ${c}Base {`, `  static count = 0;`];
  if (staticPriv) lines.push(`  static #registry = [];`);
  if (priv) lines.push(`  #secret;`);
  lines.push(`  base = ${g};`);
  if (arrowField) lines.push(`  tick = () => ++this.base;`);
  lines.push(`  constructor(v = ${p.int(0, 3)}) { this.v = v;${priv ? ' this.#secret = v * 2;' : ''} ${c}Base.count++;${staticPriv ? ` ${c}Base.#registry.push(v);` : ''} }`);
  if (priv && accessor) lines.push(`  get secret() { return this.#secret; }`, `  set secret(x) { this.#secret = x; }`);
  if (privMethod) lines.push(`  #hidden() { return this.#secret + this.base; }`, `  reveal() { return this.#hidden(); }`);
  lines.push(`  describe() { return 'B(' + this.v + ')'; }`);
  if (staticPriv) lines.push(`  static registry() { return ${c}Base.#registry.slice(); }`);
  if (staticBlock) lines.push(`  static { ${c}Base.initialized = ${c}Base.count + ${p.int(1, 9)}; }`);
  lines.push(`}`);
  p.line(lines.join('\n'));
  p.export(`${c}Base`);
  let top = `${c}Base`;
  if (derived) {
    p.feature('class-super');
    const w = p.readable();
    const supField = p.chance(0.3);
    if (supField) p.feature('class-field-arrow-super');
    p.line(`class ${c}Derived extends ${c}Base {
  extra = 1;${supField ? `
  sup = () => super.describe() + '!';` : ''}
  constructor(v, w = ${w}) { super(v); this.w = w; }
  describe() { return 'D:' + super.describe() + ':' + this.w; }
  static make(v) { return new this(v); }
  get both() { return this.v + this.w + this.extra; }
  set both(x) { this.extra = x; }
  static get label() { return 'L' + super.count; }
}`);
    p.export(`${c}Derived`);
    top = `${c}Derived`;
    p.op(1, () => get(['api', `${c}Derived`, 'label']));
    if (supField) p.op(1, () => call(['api', `${c}inst`, 'sup']));
  }
  p.line(`const ${c}inst = new ${top}(${p.int(0, 5)});`);
  p.export(`${c}inst`);
  const r = p.reg();
  p.seq(make(['api', top], [p.int(0, 5)], { store: r }), call(['regs', r, 'describe']),
    derived ? get(['regs', r, 'both']) : get(['regs', r, 'v']),
    derived ? set(['regs', r, 'both'], p.int(0, 3)) : set(['regs', r, 'v'], p.int(0, 3)),
    derived ? get(['regs', r, 'both']) : call(['regs', r, 'describe']));
  p.op(2, () => call(['api', `${c}inst`, 'describe']));
  p.op(1, () => get(['api', `${c}Base`, 'count']));
  if (priv && accessor) {
    p.op(1, () => get(['api', `${c}inst`, 'secret']));
    p.op(1, () => set(['api', `${c}inst`, 'secret'], p.int(0, 9)));
  }
  if (privMethod) p.op(1, () => call(['api', `${c}inst`, 'reveal']));
  if (staticPriv) p.op(1, () => call(['api', `${c}Base`, 'registry']));
  if (staticBlock) p.op(0.5, () => get(['api', `${c}Base`, 'initialized']));
  if (arrowField) p.op(1, () => call(['api', `${c}inst`, 'tick']));
  if (derived) p.op(1, () => call(['api', `${c}Derived`, 'make'], [p.int(0, 3)]));
  p.op(0.5, () => get(['api', `${c}inst`]));
  p.op(0.5, () => sameOp(['api', `${c}inst`, 'constructor'], ['api', top]));
}

function builtinSubclass(p, c) {
  p.feature('class-extends-builtin');
  const kind = p.pick(['Array', 'Map', 'Error']);
  if (kind === 'Array') {
    p.line(`class ${c}List extends Array {
  sum() { return this.reduce((a, b) => a + b, 0); }
  static from3(a) { return ${c}List.of(a, a + 1, a + 2); }
}
const ${c}l = ${c}List.from3(${p.int(0, 5)});`);
    p.export(`${c}List`); p.export(`${c}l`);
    p.op(2, () => call(['api', `${c}l`, 'sum']));
    p.op(1, () => call(['api', `${c}l`, 'push'], [p.int(0, 9)]));
    p.op(1, () => call(['api', `${c}List`, 'from3'], [p.int(0, 4)]));
    p.op(1, () => call(['api', `${c}l`, 'map'], [{ $ref: ['api', `${c}List`, 'from3'] }]));
  } else if (kind === 'Map') {
    p.line(`class ${c}Counts extends Map {
  #hits = 0;
  incr(k) { this.#hits++; this.set(k, (this.get(k) ?? 0) + 1); return this.get(k); }
  get hits() { return this.#hits; }
}
const ${c}cm = new ${c}Counts([['a', ${p.int(0, 3)}]]);`);
    p.export(`${c}Counts`); p.export(`${c}cm`);
    p.op(2, () => call(['api', `${c}cm`, 'incr'], [p.pick(['a', 'b'])]));
    p.op(1, () => get(['api', `${c}cm`, 'hits']));
    p.op(1, () => get(['api', `${c}cm`]));
  } else {
    p.line(`class ${c}Oops extends Error {
  constructor(msg, code) { super(msg); this.name = 'Oops'; this.code = code; }
  get summary() { return this.name + '/' + this.code + '/' + this.message; }
}
const ${c}fail = (x) => { if (x > 2) throw new ${c}Oops('too big ' + x, x); return x; };
const ${c}err = new ${c}Oops('kept', ${p.int(0, 9)});`);
    p.export(`${c}fail`); p.export(`${c}err`);
    p.op(2, () => call(['api', `${c}fail`], [p.int(0, 5)]));
    p.op(1, () => get(['api', `${c}err`, 'summary']));
  }
}

function classFactory(p, c) {
  p.feature('class-factory-closure');
  p.line(`function ${c}makeClass(prefix) {
  let made = 0;
  return class Item {
    static kind = prefix;
    constructor(x) { this.x = x; made++; }
    tag() { return prefix + this.x + ':' + made; }
    static made() { return made; }
  };
}
const ${c}A = ${c}makeClass('a');
const ${c}B = ${c}makeClass('b'); // equal captured values would make pikala assume one scope (README: shared state)
const ${c}a1 = ${p.chance(0.5) ? `new ${c}A(${p.int(0, 5)})` : `{ tag: () => 'none' }`};`);
  for (const k of ['A', 'B', 'a1', 'makeClass']) p.export(`${c}${k}`);
  const r = p.reg();
  p.seq(make(['api', `${c}B`], [p.int(0, 5)], { store: r }), call(['regs', r, 'tag']), call(['api', `${c}B`, 'made']));
  p.op(2, () => call(['api', `${c}a1`, 'tag']));
  p.op(1, () => call(['api', p.pick([`${c}A`, `${c}B`]), 'made']));
  p.op(1, () => make(['api', p.pick([`${c}A`, `${c}B`])], [p.int(0, 5)]));
  if (p.chance(0.5)) {
    p.feature('class-mixin');
    p.line(`const ${c}Mixin = (B) => class extends B { mixed() { return 'mix:' + super.tag(); } };
const ${c}M = ${c}Mixin(${c}A);
const ${c}mi = new ${c}M(${p.int(0, 5)});`);
    p.export(`${c}M`); p.export(`${c}mi`);
    p.op(2, () => call(['api', `${c}mi`, 'mixed']));
    p.op(1, () => make(['api', `${c}M`], [1]));
  }
}

function instanceArrows(p, c) {
  p.feature('instance-arrow-fields');
  p.line(`class ${c}Clicker {
  #count = ${p.int(0, 3)};
  n = 0;
  click = () => { this.n++; return ++this.#count; };
  read = () => [this.n, this.#count];
  get count() { return this.#count; }
}
const ${c}ck = new ${c}Clicker();
const ${c}click = ${c}ck.click;`);
  p.export(`${c}ck`); p.export(`${c}click`);
  p.op(2, () => call(['api', `${c}click`]));
  p.op(1, () => call(['api', `${c}ck`, 'click']));
  p.op(1, () => call(['api', `${c}ck`, 'read']));
  p.op(1, () => get(['api', `${c}ck`, 'count']));
  p.op(0.5, () => sameOp(['api', `${c}click`], ['api', `${c}ck`, 'click']));
}

function params(p, c) {
  p.feature('default-destructuring-params');
  const w = p.writable();
  const facInit = p.int(1, 4);
  p.line(`let ${c}fac = ${facInit};
function ${c}scale(x, f = ${c}fac, g = f + x) { return x * f + g; }
const ${c}pick = ({ a, b = ${c}fac, ...rest }, [c, , d = a] = []) => [a, b, c, d, Object.keys(rest)];
const ${c}setFac = (v) => (${c}fac = v);
function ${c}twoScopes(x, get = () => x, put = (v) => (x = v)) {
  var x = x + 100;
  return { get, put, body: () => x, bodyPut: (v) => (x = v) };
}
const ${c}ts = ${c}twoScopes(${p.int(0, 5)});
const ${c}rest = (first, ...more) => [first, more.length, ${w ?? p.readable()}];`);
  for (const k of ['scale', 'pick', 'setFac', 'ts', 'rest']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}scale`], p.chance(0.5) ? [p.int(0, 5)] : [p.int(0, 5), p.int(0, 3)]));
  p.op(2, () => call(['api', `${c}pick`], [{ a: p.int(0, 5), z: 1 }, p.chance(0.5) ? [p.int(0, 5)] : [1, 2, 3]]));
  p.op(1, () => call(['api', `${c}setFac`], [p.int(0, 9)]));
  p.op(2, () => call(['api', `${c}ts`, p.pick(['get', 'body'])]));
  p.op(1, () => call(['api', `${c}ts`, p.pick(['put', 'bodyPut'])], [p.int(0, 9)]));
  p.op(1, () => call(['api', `${c}rest`], [1, 2, 3].slice(0, p.int(0, 3))));
}

function recursion(p, c) {
  p.feature('recursion');
  p.line(`function ${c}fact(n) { return n <= 1 ? 1 : n * ${c}fact(n - 1); }
const ${c}fib = function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
function ${c}isEven(n) { return n === 0 ? true : ${c}isOdd(n - 1); }
function ${c}isOdd(n) { return n === 0 ? false : ${c}isEven(n - 1); }
const ${c}memo = (() => {
  const cache = new Map();
  let misses = 0;
  const f = (n) => { if (cache.has(n)) return cache.get(n); misses++; const r = n < 2 ? n : f(n - 1) + f(n - 2); cache.set(n, r); return r; };
  f.misses = () => misses;
  return f;
})();`);
  for (const k of ['fact', 'fib', 'isEven', 'memo']) p.export(`${c}${k}`);
  p.op(1, () => call(['api', `${c}fact`], [p.int(0, 8)]));
  p.op(1, () => call(['api', `${c}fib`], [p.int(0, 10)]));
  p.op(1, () => call(['api', `${c}isEven`], [p.int(0, 9)]));
  p.op(2, () => call(['api', `${c}memo`], [p.int(0, 15)]));
  p.op(1, () => call(['api', `${c}memo`, 'misses']));
}

function containers(p, c) {
  p.feature('functions-in-containers');
  const w = p.readable();
  p.line(`let ${c}bias = ${p.int(0, 3)};
const ${c}table = new Map([['add', (a, b) => a + b], ['mul', function (a, b) { return a * b + ${c}bias; }]]);
const ${c}list = [(x) => x + 1, (x) => x * 2 + ${w}, function named(x) { return named.name + x; }];
const ${c}ops = {
  run(k, ...xs) { const f = ${c}table.get(k); return f ? f(...xs) : 'missing ' + k; },
  register(k, n) { ${c}table.set(k, (a) => a + n + ${c}bias); return ${c}table.size; },
  chain(x) { return ${c}list.reduce((acc, f) => f(acc), x); },
  setBias(b) { ${c}bias = b; return this; },
};`);
  for (const k of ['table', 'list', 'ops']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}ops`, 'run'], [p.pick(['add', 'mul', 'inc', 'dbl']), p.int(0, 5), p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}ops`, 'register'], [p.pick(['inc', 'dbl']), p.int(1, 5)]));
  p.op(1, () => call(['api', `${c}ops`, 'chain'], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}ops`, 'setBias'], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}table`, p.pick(['add', 'mul'])], [p.int(0, 5), p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}list`, p.int(0, 2)], [p.int(0, 5)]));
}

function bound(p, c) {
  p.feature('bound-functions');
  const g = p.readable();
  p.line(`let ${c}hits = 0;
function ${c}tagged(prefix, x) { ${c}hits++; return prefix + ':' + ((this && this.name) || 'none') + ':' + x + ':' + ${g} + ':' + ${c}hits; }
const ${c}ctx = { name: 'ctx' };
const ${c}b1 = ${c}tagged.bind(${c}ctx, 'p');
const ${c}b2 = ${c}b1.bind(null);
const ${c}b3 = ${c}tagged.bind(undefined, 'q', ${p.int(0, 9)});
const ${c}rename = (n) => { ${c}ctx.name = n; return ${c}b1('r'); };`);
  for (const k of ['b1', 'b2', 'b3', 'rename', 'ctx']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', p.pick([`${c}b1`, `${c}b2`])], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}b3`]));
  p.op(1, () => call(['api', `${c}rename`], [p.pick(['x', 'y'])]));
  p.op(0.5, () => get(['api', `${c}b2`]));
}

function blocks(p, c) {
  p.feature('block-catch-switch-scopes');
  const S = p.int(0, 5);
  p.line(`const ${c}fns = {};
{
  let hidden = ${S};
  ${c}fns.h = () => ++hidden;
  ${c}fns.hget = () => hidden;
}
try { throw new Error('boom${S}'); } catch (e) {
  let count = 1;
  ${c}fns.err = () => e.message + ':' + count++;
}
switch (${S} % 2) {
  case 0: { let sv = 'even'; ${c}fns.sw = () => sv; break; }
  default: { let sv = 'odd'; ${c}fns.sw = (v) => (v === undefined ? sv : (sv = v)); }
}
if (${S} > 2) { const big = { n: ${S} }; ${c}fns.big = () => big.n++; } else { let small = [${S}]; ${c}fns.big = () => small.push(small.length); }`);
  p.export(`${c}fns`);
  p.op(2, () => call(['api', `${c}fns`, 'h']));
  p.op(1, () => call(['api', `${c}fns`, 'hget']));
  p.op(1, () => call(['api', `${c}fns`, 'err']));
  p.op(1, () => call(['api', `${c}fns`, 'sw'], p.chance(0.7) ? [] : ['z']));
  p.op(1, () => call(['api', `${c}fns`, 'big']));
}

function higherOrder(p, c) {
  p.feature('higher-order');
  p.line(`const ${c}compose = (...fs) => (x) => fs.reduceRight((acc, f) => f(acc), x);
const ${c}add = (n) => (x) => x + n;
const ${c}mul = (n) => (x) => x * n;
const ${c}pipeline = ${c}compose(${c}add(${p.int(0, 5)}), ${c}mul(${p.int(1, 3)}));
const ${c}curry = (f) => function curried(...a) { return a.length >= f.length ? f(...a) : (...b) => curried(...a, ...b); };
const ${c}sum3 = ${c}curry((a, b, c) => a + b + c);
const ${c}p1 = ${c}sum3(${p.int(0, 5)});
const ${c}once = (f) => { let done = false, value; return (...a) => (done ? value : ((done = true), (value = f(...a)))); };
const ${c}first = ${c}once((x) => x * 10);`);
  for (const k of ['pipeline', 'sum3', 'p1', 'first', 'add']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}pipeline`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}p1`], [p.int(0, 5), p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}first`], [p.int(0, 5)]));
  const r = p.reg();
  p.seq(call(['api', `${c}p1`], [p.int(0, 5)], { store: r }), call(['regs', r], [p.int(0, 5)]));
  const r2 = p.reg();
  p.seq(call(['api', `${c}add`], [p.int(0, 5)], { store: r2 }), call(['regs', r2], [p.int(0, 5)]));
}

function ownProps(p, c) {
  p.feature('function-own-properties');
  p.line(`function ${c}counted(x) { ${c}counted.calls++; return x + ${c}counted.calls; }
${c}counted.calls = 0;
${c}counted.meta = { kind: 'counted' };
const ${c}sym = Symbol('${c}k');
const ${c}keyed = { [${c}sym]: ${p.int(0, 3)}, ['m' + ${p.int(0, 3)}]() { return this[${c}sym]++; }, get [Symbol.toStringTag]() { return 'Keyed'; } };
const ${c}keyName = Object.keys(${c}keyed)[0];
const ${c}useKey = () => ${c}keyed[${c}keyName]();`);
  for (const k of ['counted', 'keyed', 'useKey']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}counted`], [p.int(0, 5)]));
  p.op(1, () => get(['api', `${c}counted`, 'calls']));
  p.op(2, () => call(['api', `${c}useKey`]));
}

function defineProps(p, c) {
  p.feature('defineProperty-accessors');
  p.line(`const ${c}o = {};
let ${c}hidden = ${p.int(0, 5)};
Object.defineProperty(${c}o, 'val', { get() { return ${c}hidden; }, set(v) { ${c}hidden = v * 2; }, enumerable: true });
Object.defineProperty(${c}o, 'ro', { value: ${p.int(0, 5)}, writable: false, enumerable: false });
const ${c}peek = () => [${c}hidden, ${c}o.ro];`);
  p.export(`${c}o`); p.export(`${c}peek`);
  p.op(2, () => get(['api', `${c}o`, 'val']));
  p.op(1, () => set(['api', `${c}o`, 'val'], p.int(0, 5)));
  p.op(1, () => call(['api', `${c}peek`]));
  p.op(0.5, () => set(['api', `${c}o`, 'ro'], 1)); // the runner is strict: a TypeError unless the descriptor was lost
}

function es5(p, c) {
  p.feature('es5-constructor');
  p.line(`var ${c}off = ${p.int(0, 3)};
function ${c}Point(x, y) { this.x = x; this.y = y; }
${c}Point.prototype.len2 = function () { return this.x * this.x + this.y * this.y + ${c}off; };
${c}Point.prototype.move = function (dx) { this.x += dx; ${c}off++; return this; };
const ${c}pt = new ${c}Point(${p.int(0, 3)}, ${p.int(0, 3)});`);
  p.export(`${c}Point`); p.export(`${c}pt`);
  const r = p.reg();
  p.seq(make(['api', `${c}Point`], [p.int(0, 3), p.int(0, 3)], { store: r }), call(['regs', r, 'len2']), call(['regs', r, 'move'], [1]));
  p.op(2, () => call(['api', `${c}pt`, 'len2']));
  p.op(1, () => call(['api', `${c}pt`, 'move'], [p.int(-1, 2)]));
}

function swap(p, c) {
  p.feature('reassigned-function-variable');
  p.line(`let ${c}impl = (x) => x + 1;
const ${c}use = (x) => ${c}impl(x);
const ${c}swap = (k) => { ${c}impl = k === 1 ? (x) => x * 10 : function (x) { return x - ${c}use.length; }; return k; };`);
  p.export(`${c}use`); p.export(`${c}swap`);
  p.op(3, () => call(['api', `${c}use`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}swap`], [p.int(1, 2)]));
}

function builtins(p, c) {
  if (p.mode === 'script') return counter(p, c);
  p.feature('node-builtins-by-reference');
  if (p.mode === 'mjs') p.imports.push(`import { join as ${c}join } from 'node:path';\nimport * as ${c}util from 'node:util';`);
  else p.line(`const { join: ${c}join } = require('node:path');\nconst ${c}util = require('node:util');`);
  p.line(`const ${c}paths = (a) => ${c}join('root', String(a));
const ${c}fmt = (x) => ${c}util.format('%s=%d', 'x', x);
const ${c}json = JSON.stringify;
const ${c}keys = Object.keys;`);
  for (const k of ['paths', 'fmt', 'json', 'keys']) p.export(`${c}${k}`);
  p.op(1, () => call(['api', `${c}paths`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}fmt`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}json`], [{ a: p.int(0, 5) }]));
}

function shadowing(p, c) {
  p.feature('shadowing');
  const A = p.int(0, 5);
  p.line(`let ${c}x = ${A};
const ${c}readOuter = () => ${c}x;
const ${c}sh = (function () {
  let ${c}x = ${p.int(10, 15)};
  const get = () => ${c}x;
  return {
    get,
    bump: () => ++${c}x,
    outer: () => ${c}readOuter(),
    block() { { let ${c}x = 100; return () => ${c}x + get(); } },
  };
})();
const ${c}bumpOuter = () => (${c}x += 10);
const ${c}shadowed = (() => {
  const JSON = { stringify: (v) => 'fake:' + v };
  let Map = ${p.int(0, 5)};
  const Symbol = 'not a symbol';
  return (v) => [JSON.stringify(v), Map++, typeof Symbol];
})();`);
  for (const k of ['sh', 'bumpOuter', 'shadowed']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}sh`, p.pick(['get', 'bump', 'outer'])]));
  p.op(1, () => call(['api', `${c}bumpOuter`]));
  p.op(1, () => call(['api', `${c}shadowed`], [p.int(0, 5)]));
  const r = p.reg();
  p.seq(call(['api', `${c}sh`, 'block'], [], { store: r }), call(['regs', r]), call(['api', `${c}sh`, 'bump']), call(['regs', r]));
  if (p.mode === 'cjs') {
    p.feature('commonjs-wrapper-names');
    p.line(`const ${c}wrapper = () => [typeof module, typeof exports, typeof require, __filename.endsWith('.cjs'), require('node:path').sep];`);
    p.export(`${c}wrapper`);
    p.op(1, () => call(['api', `${c}wrapper`]));
  }
}

function thisCapture(p, c) {
  p.feature('arrows-capturing-this');
  p.line(`class ${c}K {
  constructor(n) { this.n = n; }
  make() { return () => ++this.n; }
  get adder() { return (x) => x + this.n; }
  static self() { return () => this.name + ':' + this.count; }
  static count = ${p.int(0, 3)};
}
const ${c}k = new ${c}K(${p.int(0, 5)});
const ${c}kInc = ${c}k.make();
const ${c}kAdd = ${c}k.adder;
const ${c}kStatic = ${c}K.self();
const ${c}topThis = () => [typeof this, this === undefined, this === globalThis];
const ${c}lit = { n: ${p.int(0, 5)}, later() { return () => (this.n += 2); } };
const ${c}litLater = ${c}lit.later();`);
  for (const k of ['k', 'kInc', 'kAdd', 'kStatic', 'topThis', 'lit', 'litLater', 'K']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}kInc`]));
  p.op(1, () => get(['api', `${c}k`, 'n']));
  p.op(1, () => call(['api', `${c}kAdd`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}kStatic`]));
  p.op(0.5, () => set(['api', `${c}K`, 'count'], p.int(0, 9)));
  p.op(1, () => call(['api', `${c}topThis`]));
  p.op(1, () => call(['api', `${c}litLater`]));
  p.op(0.5, () => get(['api', `${c}lit`, 'n']));
  const r = p.reg();
  p.seq(make(['api', `${c}K`], [p.int(0, 5)], { store: r }), call(['regs', r, 'make'], [], { store: `${r}m` }), call(['regs', `${r}m`]),
    get(['regs', r, 'n']));
}

function objectSuper(p, c) {
  p.feature('object-literal-super');
  p.line(`const ${c}base = { hi() { return 'base:' + this.name; }, name: 'b' };
const ${c}child = {
  __proto__: ${c}base,
  name: 'c',
  hi() { return 'child>' + super.hi(); },
  get up() { return super.name + '/' + this.name; },
};
const ${c}grand = { __proto__: ${c}child, name: 'g', hi() { return 'grand>' + super.hi(); } };`);
  p.export(`${c}child`); p.export(`${c}grand`); p.export(`${c}base`);
  p.op(2, () => call(['api', p.pick([`${c}child`, `${c}grand`]), 'hi']));
  p.op(1, () => get(['api', p.pick([`${c}child`, `${c}grand`]), 'up']));
  p.op(1, () => set(['api', p.pick([`${c}child`, `${c}base`, `${c}grand`]), 'name'], p.pick(['x', 'y'])));
}

function weakPrivate(p, c) {
  p.feature('weakmap-private-state');
  p.line(`const ${c}priv = new WeakMap();
const ${c}seen = new WeakSet();
class ${c}P {
  constructor(v) { ${c}priv.set(this, { v, log: [] }); }
  bump() { const s = ${c}priv.get(this); s.v++; s.log.push(s.v); ${c}seen.add(this); return s.log.slice(); }
  static has(o) { return [${c}priv.has(o), ${c}seen.has(o)]; }
}
const ${c}p0 = new ${c}P(${p.int(0, 5)});`);
  p.export(`${c}P`); p.export(`${c}p0`);
  p.op(2, () => call(['api', `${c}p0`, 'bump']));
  p.op(1, () => call(['api', `${c}P`, 'has'], [{ $ref: ['api', `${c}p0`] }]));
  const r = p.reg();
  p.seq(make(['api', `${c}P`], [p.int(0, 5)], { store: r }), call(['regs', r, 'bump']), call(['api', `${c}P`, 'has'], [{ $ref: ['regs', r] }]),
    call(['regs', r, 'bump']));
}

function protoMutation(p, c) {
  p.feature('class-prototype-mutated');
  p.line(`class ${c}Q { constructor(v) { this.v = v; } base() { return 'Q' + this.v; } }
${c}Q.prototype.triple = function () { return this.v * 3; };
Object.defineProperty(${c}Q.prototype, 'half', { get() { return this.v / 2; }, configurable: true });
${c}Q.shared = { hits: 0 };
${c}Q.prototype.hit = function () { return ++${c}Q.shared.hits; };
const ${c}q = new ${c}Q(${p.int(0, 5)});
const ${c}addLate = () => { ${c}Q.prototype.late = function () { return 'late' + this.v; }; return 'added'; };`);
  for (const k of ['Q', 'q', 'addLate']) p.export(`${c}${k}`);
  p.op(1, () => call(['api', `${c}q`, 'triple']));
  p.op(1, () => get(['api', `${c}q`, 'half']));
  p.op(2, () => call(['api', `${c}q`, 'hit']));
  p.op(0.5, () => get(['api', `${c}Q`, 'shared']));
  p.seq(call(['api', `${c}q`, 'late']), call(['api', `${c}addLate`]), call(['api', `${c}q`, 'late']));
  const r = p.reg();
  p.seq(make(['api', `${c}Q`], [p.int(0, 5)], { store: r }), call(['regs', r, 'hit']), call(['regs', r, 'base']));
  p.op(0.5, () => sameOp(['api', `${c}q`, 'constructor'], ['api', `${c}Q`]));
}

function frozen(p, c) {
  p.feature('frozen-sealed');
  p.line(`const ${c}cfg = Object.freeze({ rate: ${p.int(1, 4)}, nested: { deep: ${p.int(0, 5)} } });
const ${c}sealed = Object.seal({ n: 0 });
const ${c}useCfg = (x) => { ${c}sealed.n++; ${c}cfg.nested.deep++; return x * ${c}cfg.rate + ${c}cfg.nested.deep + ${c}sealed.n; };
const ${c}tryMutate = () => { try { ${c}cfg.rate = 99; ${c}sealed.extra = 1; } catch (e) { return e.constructor.name; } return [${c}cfg.rate, ${c}sealed.extra]; };`);
  for (const k of ['cfg', 'useCfg', 'tryMutate']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}useCfg`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}tryMutate`]));
  p.op(0.5, () => get(['api', `${c}cfg`]));
}

function iterableClass(p, c) {
  p.feature('iterable-class-async-generators');
  p.line(`class ${c}Bag {
  #items = [];
  add(...xs) { this.#items.push(...xs); return this.#items.length; }
  *[Symbol.iterator]() { yield* this.#items; }
  get size() { return this.#items.length; }
  static async collect(it) { const out = []; for await (const x of it) out.push(x); return out; }
  async *slowly() { for (const x of this) { await null; yield x * 2; } }
  static isBag(o) { return #items in o; }
}
const ${c}bag = new ${c}Bag();
${c}bag.add(${p.int(0, 5)}, ${p.int(0, 5)});
const ${c}spread = (o) => [...o];`);
  for (const k of ['Bag', 'bag', 'spread']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}bag`, 'add'], [p.int(0, 9)]));
  p.op(1, () => call(['api', `${c}spread`], [{ $ref: ['api', `${c}bag`] }]));
  p.op(1, () => iter(['api', `${c}bag`, 'slowly']));
  p.op(1, () => call(['api', `${c}Bag`, 'collect'], [{ $ref: ['api', `${c}bag`] }]));
  p.op(1, () => call(['api', `${c}Bag`, 'isBag'], [{ $ref: p.pick([['api', `${c}bag`], ['api']]) }]));
}

function annexB(p, c) {
  if (p.strict) return shadowing(p, c);
  p.feature('sloppy-block-functions');
  const g = p.readable();
  p.line(`{ function ${c}inBlock() { return ${g} + 1; } }
const ${c}ib = ${c}inBlock;
if (${p.int(0, 1)}) { function ${c}cond(x) { return 'then' + x; } } else { function ${c}cond(x) { return 'else' + x; } }
function ${c}sloppyThis() { return typeof this; }`);
  p.export(`${c}ib`); p.export(`${c}cond`); p.export(`${c}sloppyThis`);
  p.op(1, () => call(['api', `${c}ib`]));
  p.op(1, () => call(['api', `${c}cond`], [p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}sloppyThis`]));
}

function primitives(p, c) {
  p.feature('toPrimitive-methods');
  p.line(`const ${c}money = {
  cents: ${p.int(1, 9) * 100},
  [Symbol.toPrimitive](hint) { return hint === 'number' ? this.cents / 100 : '$' + this.cents / 100; },
  toJSON() { return { cents: this.cents }; },
};
const ${c}fmt = () => \`\${${c}money}\` + ':' + (+${c}money) + ':' + JSON.stringify(${c}money);
const ${c}spend = (n) => (${c}money.cents -= n);
const ${c}key = Symbol.for('${c}reg');
const ${c}reg = { [${c}key]: () => 'registered', [Symbol.iterator]: function* () { yield 1; yield 2; } };
const ${c}useReg = () => [${c}reg[Symbol.for('${c}reg')](), ...${c}reg];`);
  for (const k of ['fmt', 'spend', 'useReg']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}fmt`]));
  p.op(1, () => call(['api', `${c}spend`], [p.int(1, 50)]));
  p.op(1, () => call(['api', `${c}useReg`]));
}

function evalScopes(p, c) {
  p.feature('eval-and-new-function');
  p.line(`const ${c}evf = (() => { let hidden = ${p.int(0, 5)}; const other = 'o'; return (code) => eval(code); })();
const ${c}nf = new Function('a', 'b', 'return a * 2 + b;');
const ${c}useNf = (x) => ${c}nf(x, ${p.readable()});`);
  for (const k of ['evf', 'nf', 'useNf']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}evf`], [p.pick(['hidden++', 'hidden', 'other + hidden', 'typeof hidden'])]));
  p.op(1, () => call(['api', `${c}nf`], [p.int(0, 5), p.int(0, 5)]));
  p.op(1, () => call(['api', `${c}useNf`], [p.int(0, 5)]));
}

function dataScopes(p, c) {
  p.feature('captured-data-kinds');
  p.line(`let ${c}big = ${p.int(0, 9)}n, ${c}neg0 = -0, ${c}nan = NaN, ${c}und, ${c}sym = Symbol('${c}s');
const ${c}re = /a/g;
const ${c}buf = new ArrayBuffer(8);
const ${c}u8 = new Uint8Array(${c}buf);
const ${c}u32 = new Uint32Array(${c}buf);
const ${c}when = new Date(${p.int(0, 9)} * 86400000);
const ${c}objKey = { id: 1 };
const ${c}byObj = new Map([[${c}objKey, 'first']]);
const ${c}data = {
  prims: () => [typeof ${c}big, String(${c}big++), Object.is(${c}neg0, -0), Number.isNaN(${c}nan), ${c}und === undefined, ${c}sym.description],
  setUnd: (v) => (${c}und = v),
  nextA: (str) => [${c}re.exec(str)?.index ?? -1, ${c}re.lastIndex],
  write: (i, v) => { ${c}u8[i & 7] = v; return [${c}u32[0], ${c}u32[1]]; },
  day: () => ${c}when.getUTCDate(),
  shift: (d) => ${c}when.setUTCDate(${c}when.getUTCDate() + d),
  byObj: (v) => { if (v !== undefined) ${c}byObj.set(${c}objKey, v); return ${c}byObj.get(${c}objKey); },
};`);
  p.export(`${c}data`);
  p.op(2, () => call(['api', `${c}data`, 'prims']));
  p.op(0.5, () => call(['api', `${c}data`, 'setUnd'], [p.pick([1, 'x', null])]));
  p.op(1, () => call(['api', `${c}data`, 'nextA'], [p.pick(['aa', 'bab', 'aaa'])]));
  p.op(1, () => call(['api', `${c}data`, 'write'], [p.int(0, 7), p.int(0, 255)]));
  p.op(1, () => call(['api', `${c}data`, p.pick(['day', 'shift'])], [p.int(1, 3)]));
  p.op(1, () => call(['api', `${c}data`, 'byObj'], p.chance(0.5) ? [] : [p.pick(['x', 'y'])]));
}

function moreClasses(p, c) {
  p.feature('class-keys-statics');
  const nm = p.pick(['dyn', 'alt']);
  p.line(`const ${c}nm = '${nm}';
const ${c}sym = Symbol('${c}sym');
class ${c}C {
  static #total = ${p.int(0, 5)};
  static get total() { return ${c}C.#total; }
  static set total(v) { ${c}C.#total = v; }
  static #bump() { return ++${c}C.#total; }
  [${c}nm]() { return ${c}nm + ${c}C.#bump(); }
  [${c}sym]() { return 'sym' + this.k; }
  get #pv() { return this.k * 10; }
  peek() { return this.#pv; }
  constructor(k = 1) { this.k = k; }
  static [Symbol.hasInstance](o) { return o === 42 || Function.prototype[Symbol.hasInstance].call(this, o); }
}
const ${c}BoundC = ${c}C.bind(null, ${p.int(2, 5)});
const ${c}useSym = (o) => o[${c}sym]();
const ${c}isC = (o) => [o instanceof ${c}C, 42 instanceof ${c}C];
const ${c}c = new ${c}C();`);
  for (const k of ['C', 'BoundC', 'useSym', 'isC', 'c', 'nm']) p.export(`${c}${k}`);
  p.op(2, () => call(['api', `${c}c`, nm]));
  p.op(1, () => get(['api', `${c}C`, 'total']));
  p.op(0.5, () => set(['api', `${c}C`, 'total'], p.int(0, 9)));
  p.op(1, () => call(['api', `${c}useSym`], [{ $ref: ['api', `${c}c`] }]));
  p.op(1, () => call(['api', `${c}c`, 'peek']));
  p.op(1, () => call(['api', `${c}isC`], [{ $ref: ['api', `${c}c`] }]));
  const r = p.reg();
  p.seq(make(['api', `${c}BoundC`], [], { store: r }), call(['regs', r, 'peek']), call(['api', `${c}isC`], [{ $ref: ['regs', r] }]));
  if (p.chance(0.5)) {
    p.feature('class-binding-reassigned');
    p.line(`let ${c}D = class ${c}Dn { static who() { return ${c}Dn.name + ':' + typeof ${c}D; } };
const ${c}D0 = ${c}D;
const ${c}resetD = () => { ${c}D = null; return 'reset'; };`);
    p.export(`${c}D0`); p.export(`${c}resetD`);
    p.op(1, () => call(['api', `${c}D0`, 'who']));
    p.op(0.5, () => call(['api', `${c}resetD`]));
  }
}

function factoryLoops(p, c) {
  p.feature('factory-loop-blocks');
  const n = p.int(1, 3);
  p.line(`function ${c}factory(n) {
  let total = 0;
  const fns = [];
  for (let i = 0; i < n; i++) {
    let local = i;
    fns.push(() => { total += local + 1; local++; return [total, local, i]; });
  }
  fns.total = () => total;
  return fns;
}
const ${c}fs1 = ${c}factory(${n});
const ${c}fs2 = ${c}factory(${n});
function ${c}switcher(k) {
  const out = [];
  switch (k) {
    case 0: let a = 'zero'; out.push(() => a);
    // falls through
    default: let b = k; out.push(() => (a === undefined ? 'u' : a) + ':' + b++);
  }
  return out;
}
const ${c}sw = ${c}switcher(0); // 1 would leave \`a\` in its TDZ: documented to arrive as undefined
let ${c}caught;
try { throw { message: 'm${n}', code: ${n} }; } catch ({ message, code }) { ${c}caught = () => message + code; }
const ${c}pairs = [];
for (const [k, v] of Object.entries({ x: ${p.int(0, 5)}, y: ${p.int(0, 5)} })) ${c}pairs.push(() => k + v);`);
  for (const k of ['fs1', 'fs2', 'sw', 'caught', 'pairs']) p.export(`${c}${k}`);
  p.op(3, () => call(['api', p.pick([`${c}fs1`, `${c}fs2`]), p.int(0, n - 1)]));
  p.op(1, () => call(['api', p.pick([`${c}fs1`, `${c}fs2`]), 'total']));
  p.op(1, () => call(['api', `${c}sw`, p.int(0, 1)]));
  p.op(1, () => call(['api', `${c}caught`]));
  p.op(1, () => call(['api', `${c}pairs`, p.int(0, 1)]));
}

/**
 * A random tree of scopes (factory functions called once or twice, blocks, `for (let ...)` loops, catch
 * clauses), each declaring variables (some shadowing outer ones) and closures that read and assign the
 * variables they see; every closure lands in one array. The core of scope reconstruction and of sharing.
 */
function scopeTree(p, c) {
  p.feature('random-scope-tree');
  let varN = 0;
  let fnN = 0;
  let closures = 0;
  const lines = [];
  const pickVars = (visible, n) => p.r.shuffle(visible).slice(0, n);
  const literal = () => String(p.int(0, 9));
  const initOf = (visible) => {
    const vs = pickVars(visible, p.int(0, 2));
    return vs.length ? `${vs.map((v) => v.name).join(' + ')} + ${literal()}` : literal();
  };
  const closureText = (visible) => {
    const body = [];
    for (const v of pickVars(visible.filter((x) => x.kind !== 'const'), p.int(0, 2))) {
      body.push(p.pick([`${v.name} += ${p.int(1, 3)};`, `${v.name}++;`, `${v.name} = ${v.name} * 2 % 97;`]));
    }
    const reads = pickVars(visible, p.int(1, 3)).map((v) => v.name);
    const ret = `return [${reads.join(', ')}];`;
    switch (p.int(0, 5)) {
      case 0: case 4: return `() => { ${body.join(' ')} ${ret} }`;
      case 1: return `function () { ${body.join(' ')} ${ret} }`;
      case 2: return `({ m() { ${body.join(' ')} ${ret} } }).m`;
      default: return `(x = ${reads[0]}) => { ${body.join(' ')} return [x, ${reads.join(', ')}]; }`;
    }
  };
  // `head`: the scope's own parameter or catch binding, which its body may not declare again.
  const declare = (visible, indent, fnLevel, head) => {
    const names = [];
    for (let i = p.int(1, 2); i > 0; i--) {
      const shadow = visible.length && p.chance(0.25) ? p.pick(visible).name : null;
      names.push(shadow && !names.includes(shadow) && shadow !== head ? shadow : `${c}v${varN++}`);
    }
    // Initializers read only outer names this scope does not declare (a declared name is in its TDZ).
    const outer = visible.filter((v) => !names.includes(v.name));
    const declared = names.map((name) => {
      const kind = fnLevel ? p.pick(['let', 'var', 'const']) : p.pick(['let', 'const']);
      lines.push(`${indent}${kind} ${name} = ${initOf(outer)};`);
      return { name, kind };
    });
    return [...outer, ...declared];
  };
  const body = (depth, visible, indent, times, fnLevel, head) => {
    const vis = declare(visible, indent, fnLevel, head);
    for (let i = p.int(1, 2); i > 0; i--) {
      lines.push(`${indent}${c}fns.push(${closureText(vis)});`);
      closures += times;
    }
    if (depth < 3) for (let i = p.int(0, 2); i > 0; i--) scope(depth + 1, vis, indent, times);
  };
  function scope(depth, visible, indent, times) {
    const kind = depth === 0 ? 'function' : p.pick(['function', 'block', 'for', 'catch', 'function']);
    const inner = `${indent}  `;
    if (kind === 'function') {
      const f = `${c}f${fnN++}`;
      const param = `${c}a${varN++}`;
      const calls = p.int(1, 2);
      lines.push(`${indent}function ${f}(${param}) {`);
      body(depth, [...visible.filter((v) => v.name !== param), { name: param, kind: 'let' }], inner, times * calls, true, param);
      lines.push(`${indent}}`);
      const arg = p.int(0, 3);
      for (let i = 0; i < calls; i++) lines.push(`${indent}${f}(${p.chance(0.6) ? arg : p.int(0, 3)});`);
    } else if (kind === 'block') {
      lines.push(`${indent}{`);
      body(depth, visible, inner, times, false);
      lines.push(`${indent}}`);
    } else if (kind === 'for') {
      const i = `${c}i${varN++}`;
      lines.push(`${indent}for (let ${i} = 0; ${i} < 2; ${i}++) {`);
      body(depth, [...visible, { name: i, kind: 'let' }], inner, times * 2, false);
      lines.push(`${indent}}`);
    } else {
      const e = `${c}e${varN++}`;
      lines.push(`${indent}try { throw ${p.int(0, 9)}; } catch (${e}) {`);
      body(depth, [...visible, { name: e, kind: 'let' }], inner, times, false, e);
      lines.push(`${indent}}`);
    }
  }
  lines.push(`const ${c}fns = [];`);
  const top = p.chance(0.5) ? [{ name: `${c}top`, kind: 'let' }] : [];
  if (top.length) lines.push(`let ${c}top = ${p.int(0, 9)};`);
  scope(0, top, '', 1);
  if (p.chance(0.5)) scope(0, top, '', 1);
  p.line(lines.join('\n'));
  p.export(`${c}fns`);
  const n = closures;
  p.op(6, () => call(['api', `${c}fns`, p.int(0, n - 1)]));
}

function glue(p, c) {
  if (p.callables.length < 1) return sharedState(p, c);
  p.feature('cross-component-glue');
  const picks = p.r.shuffle(p.callables).slice(0, 2);
  p.line(`const ${c}both = () => [${picks.join(', ')}];`);
  p.export(`${c}both`);
  p.op(2, () => call(['api', `${c}both`]));
}

const COMPONENTS = [counter, nested, loops, sharedState, accessors, thisArguments, genAsync, classes, builtinSubclass,
  classFactory, instanceArrows, params, recursion, containers, bound, blocks, higherOrder, ownProps, defineProps, es5, swap,
  builtins, shadowing, thisCapture, objectSuper, weakPrivate, protoMutation, frozen, iterableClass, annexB, primitives,
  evalScopes, dataScopes, moreClasses, factoryLoops, scopeTree, scopeTree];
export const COMPONENT_NAMES = COMPONENTS.map((f) => f.name);

/**
 * A program for `seed`. Options: mode ('mjs' | 'cjs' | 'script'), components (names to draw from), ops
 * (script length), minComponents/maxComponents.
 */
export function generateProgram(seed, opts = {}) {
  const p = new Program(seed, opts);
  p.declareGlobals();
  const pool = opts.components ? COMPONENTS.filter((f) => opts.components.includes(f.name)) : COMPONENTS;
  const n = p.int(opts.minComponents ?? 2, opts.maxComponents ?? 4);
  for (let i = 0; i < n; i++) p.pick(pool)(p, `${p.tag}c${i}_`);
  if (p.chance(0.3)) glue(p, `${p.tag}c${n}_`);
  const length = opts.ops ?? p.int(8, 18);
  const ops = p.script(length);
  return { seed, mode: p.mode, strict: p.strict, source: p.finish(), ops, features: [...p.features].sort() };
}
