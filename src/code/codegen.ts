/**
 * Generates the JavaScript source that rebuilds shipped functions: one "unit" per tree of layouts.
 *
 * A layout becomes a factory function whose `let` bindings are the scope's captured variables. Calling it
 * makes one environment: `{ s, f, c }` — `s(name, value)` sets a variable (filled after every object exists,
 * so cycles work), `f` holds one maker per function defined in that scope (calling a maker evaluates the
 * function's original text inside the environment, so closures made by one environment share its
 * variables), and `c` holds the factories of nested layouts. The text is plain source: the loader compiles
 * it with vm.Script (no eval, works under --disallow-code-generation-from-strings), and the same text can
 * be written into a standalone module for runtimes that forbid code generation.
 */
import type { CodeGraph, Layout, Maker } from './closures.js';

export interface Unit {
  source: string;
  /** The unit's root layout (null for the unit of functions that capture nothing). */
  root: Layout | null;
}

export interface GeneratedCode {
  units: Unit[];
  /** Layout id (as written in Scope records) → [unit index, layout key]. */
  slots: Map<number, [number, string]>;
  /** Maker id → [unit index, maker key]. */
  makers: [number, string][];
}

export function generate(graph: CodeGraph): GeneratedCode {
  const reps = new Set<Layout>();
  for (const l of graph.layouts) reps.add(l.find());
  const children = new Map<Layout | null, Layout[]>();
  for (const l of reps) {
    const parent = l.parent ? l.parent.find() : null;
    let list = children.get(parent);
    if (list === undefined) children.set(parent, list = []);
    list.push(l);
  }
  for (const list of children.values()) list.sort((a, b) => a.id - b.id);

  const units: Unit[] = [];
  const makerKeys: [number, string][] = new Array(graph.makerList.length);
  for (const root of children.get(null) ?? []) {
    const index = units.length;
    // Keys in depth-first order.
    const order: Layout[] = [];
    const stack = [root];
    while (stack.length) {
      const l = stack.pop()!;
      l.key = `L${order.length}`;
      l.unit = index;
      order.push(l);
      const kids = children.get(l) ?? [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
    for (const l of order) {
      const makers = [...l.makers].sort((a, b) => a.id - b.id);
      makers.forEach((m, i) => { m.key = `F${i}`; makerKeys[m.id] = [index, m.key]; });
    }
    const names = collectNames(order);
    const p = prefixAvoiding(names);
    units.push({ source: `(${layoutSource(root, children, p)}\n)`, root });
  }
  // Functions that capture nothing: one unit, one variable-free layout.
  const loose = graph.makerList.filter((m) => m.layout === null);
  if (loose.length !== 0) {
    const index = units.length;
    loose.forEach((m, i) => { m.key = `F${i}`; makerKeys[m.id] = [index, m.key]; });
    const names = new Set<string>();
    for (const m of loose) for (const n of m.analysis.free) names.add(n);
    const p = prefixAvoiding(names);
    units.push({ source: `(function ${p}L() {\n  return { s: null, f: {\n${loose.map((m) => `    ${m.key}: ${makerSource(m, p)},\n`).join('')}  }, c: {} };\n}\n)`, root: null });
  }
  const slots = new Map<number, [number, string]>();
  for (const l of graph.layouts) {
    const r = l.find();
    slots.set(l.id, [r.unit, r.key]);
  }
  return { units, slots, makers: makerKeys };
}

function collectNames(layouts: Layout[]): Set<string> {
  const names = new Set<string>();
  for (const l of layouts) {
    for (const v of l.vars) names.add(v);
    for (const m of l.makers) for (const n of m.analysis.free) names.add(n);
  }
  return names;
}

/** An identifier prefix no captured or free name starts with, for pikala's own parameters. */
function prefixAvoiding(names: Set<string>): string {
  let p = '$pk';
  for (;;) {
    let clash = false;
    for (const n of names) if (n.startsWith(p)) { clash = true; break; }
    if (!clash) return p;
    p += '$';
  }
}

function layoutSource(l: Layout, children: Map<Layout | null, Layout[]>, p: string): string {
  const vars = [...l.vars];
  const makers = [...l.makers].sort((a, b) => a.id - b.id);
  const kids = children.get(l) ?? [];
  let s = `function ${p}${l.key}() {\n`;
  if (vars.length) s += `  let ${vars.join(', ')};\n`;
  s += `  return {\n`;
  if (vars.length) {
    // An arrow, so that a captured variable named `arguments` is the environment's, not the setter's own.
    s += `    s: (${p}n, ${p}v) => {\n      switch (${p}n) {\n`;
    for (const v of vars) s += `        case ${JSON.stringify(v)}: ${v} = ${p}v; return;\n`;
    s += `      }\n    },\n`;
  } else {
    s += `    s: null,\n`;
  }
  s += `    f: {\n`;
  for (const m of makers) s += `      ${m.key}: ${makerSource(m, p)},\n`;
  s += `    },\n    c: {\n`;
  for (const k of kids) s += `      ${k.key}: ${layoutSource(k, children, p)},\n`;
  s += `    },\n  };\n}`;
  return s;
}

/** The maker expression for one function (see MakerMode in closures.ts). */
export function makerSource(m: Maker, p: string): string {
  const text = m.text;
  const strict = m.strict ? `'use strict'; ` : '';
  switch (m.mode) {
    case 'class': {
      const c = m.classPrefix;
      let body = text;
      if (m.classMembers.length !== 0) {
        // Makers of arrow fields that use #private names, inside the class (taken off it after creation).
        const makers = m.classMembers.map((t, i) => ` case ${i}: return function () { return (${t}\n); };`).join('');
        const end = body.lastIndexOf('}');
        body = `${body.slice(0, end)} static [${c}R.mk](${c}i) { switch (${c}i) {${makers} } } ${body.slice(end)}`;
      }
      return `(${c}S, ${c}R, ${c}K) => { 'use strict'; return (${body}\n); }`;
    }
    case 'plain':
      return m.strict ? `() => { 'use strict'; return (${text}\n); }` : `() => (${text}\n)`;
    case 'this':
      return `function () { ${strict}return (${text}\n); }`;
    case 'newTarget':
      // super() returns the captured this (return override); Reflect.construct supplies new.target.
      return `(${p}b) => class extends ${p}b { constructor() { super(); return (${text}\n); } }`;
    case 'superArrow':
      return `(${p}h) => ({ __proto__: ${p}h, ${p}m() { ${strict}return (${text}\n); } }).${p}m`;
    case 'method': case 'get': case 'set': {
      const key = m.analysis.key!;
      // A plain key stays in the text (the loader looks the method up under it); a computed or private one
      // becomes the key the method was found under.
      if (!key.computed && key.name !== null && !key.isPrivate) {
        return `(${p}h, ${p}k) => { ${strict}return ({ __proto__: ${p}h, ${text}\n }); }`;
      }
      const head = text.slice(0, key.start), rest = text.slice(key.end);
      return `(${p}h, ${p}k) => { ${strict}return ({ __proto__: ${p}h, ${head}[${p}k]${rest}\n }); }`;
    }
  }
}
