/**
 * Structural deep equality with reference isomorphism: shared references and cycles must map 1:1 (a value
 * reached twice in the original is the same object both times in the copy, and two distinct originals stay
 * distinct). Compares prototypes, Map/Set order and entries, typed-array type and elements, -0 and NaN.
 * Iterative (an explicit stack), so deep payloads cannot overflow the checker.
 * Returns { diff, note }: diff is null when equal, else a short description of the first difference with its
 * path; note records a harmless difference (own keys in another order, e.g. seroval assigns cyclic properties
 * last), which does not make the round trip lossy.
 */
const tagOf = (x) => Object.prototype.toString.call(x);

export function deepEqual(a, b) {
  let note = null;
  const diff = compare(a, b, (n) => { note ??= n; });
  return { diff, note };
}

function compare(a, b, soft) {
  const seen = new Map(); // original object -> copy
  const back = new Map(); // copy -> original
  const stack = [[a, b, '$']];
  while (stack.length) {
    const [x, y, path] = stack.pop();
    if (typeof x !== 'object' || x === null || typeof y !== 'object' || y === null) {
      if (typeof x === 'function' && typeof y === 'function') continue; // behaviour is checked by probes
      if (!Object.is(x, y)) return `${path}: ${show(x)} vs ${show(y)}`;
      continue;
    }
    const prev = seen.get(x);
    if (prev !== undefined) {
      if (prev !== y) return `${path}: shared reference not preserved`;
      continue;
    }
    if (back.has(y)) return `${path}: two distinct objects became one`;
    seen.set(x, y);
    back.set(y, x);
    const tx = tagOf(x);
    if (tx !== tagOf(y)) return `${path}: ${tx} vs ${tagOf(y)}`;
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) {
      return `${path}: prototype ${x.constructor?.name} vs ${y.constructor?.name}`;
    }
    if (ArrayBuffer.isView(x)) {
      if (x.length !== y.length) return `${path}: length ${x.length} vs ${y.length}`;
      for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${path}[${i}]: ${x[i]} vs ${y[i]}`;
      continue;
    }
    if (x instanceof Map) {
      if (x.size !== y.size) return `${path}: Map size ${x.size} vs ${y.size}`;
      const ex = [...x];
      const ey = [...y];
      for (let i = ex.length - 1; i >= 0; i--) {
        stack.push([ex[i][1], ey[i][1], `${path}.get(${show(ex[i][0])})`]);
        stack.push([ex[i][0], ey[i][0], `${path}.key#${i}`]);
      }
      continue;
    }
    if (x instanceof Set) {
      if (x.size !== y.size) return `${path}: Set size ${x.size} vs ${y.size}`;
      const ex = [...x];
      const ey = [...y];
      for (let i = ex.length - 1; i >= 0; i--) stack.push([ex[i], ey[i], `${path}.item#${i}`]);
      continue;
    }
    if (x instanceof Date) {
      if (!Object.is(x.getTime(), y.getTime())) return `${path}: Date ${x.getTime()} vs ${y.getTime()}`;
      continue;
    }
    if (Array.isArray(x)) {
      if (x.length !== y.length) return `${path}: length ${x.length} vs ${y.length}`;
      for (let i = x.length - 1; i >= 0; i--) {
        if ((i in x) !== (i in y)) return `${path}[${i}]: hole vs value`;
        stack.push([x[i], y[i], `${path}[${i}]`]);
      }
    }
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length || kx.some((k, i) => k !== ky[i])) {
      const sx = [...kx].sort();
      const sy = [...ky].sort();
      if (sx.length !== sy.length || sx.some((k, i) => k !== sy[i])) {
        return `${path}: keys [${kx.slice(0, 6)}] vs [${ky.slice(0, 6)}]`;
      }
      soft(`key order differs at ${path}`);
    }
    if (Array.isArray(x)) continue; // indices handled above; extra keys compared by name list only
    for (let i = kx.length - 1; i >= 0; i--) stack.push([x[kx[i]], y[kx[i]], `${path}.${kx[i]}`]);
  }
  return null;
}

function show(v) {
  if (typeof v === 'string') return JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  if (typeof v === 'object' && v !== null) return tagOf(v);
  return String(v);
}
