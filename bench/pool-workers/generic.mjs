// What a pikala pool built on piscina would run: one generic worker that loads a shipped function once per
// content hash (asking for the bytes the first time it meets a hash) and exchanges primitives as they are,
// anything else as pikala payloads.
import { workerData } from 'node:worker_threads';
const { dumps, loads } = await import(workerData.pikala);
const fns = new Map();
const prim = (v) => v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');
export default function ({ h, code, bytes, data }) {
  let fn = fns.get(h);
  if (fn === undefined) {
    if (code === undefined) return { need: true };
    fns.set(h, (fn = loads(code)));
  }
  const r = fn(...(bytes ? loads(data) : data));
  return prim(r) ? { raw: r } : { b: dumps(r) };
}
