/** Payload (f): functions, built from the plain-JS fixtures in bench/fixtures/closures.mjs. */
import { makeClosure, makeClosures, makeInstances } from '../fixtures/closures.mjs';

export const CODE_META = {
  f1: { title: 'one closure, 5 captured variables', single: true },
  f2: { title: 'distinct closures from a loop', single: false },
  f3: { title: 'a class with its instances', single: false },
};

export function codePayload(id, scale = 1) {
  const n = Math.max(10, Math.round(1000 * scale));
  const value = id === 'f1' ? makeClosure() : id === 'f2' ? makeClosures(n) : makeInstances(n);
  const title = id === 'f1' ? CODE_META.f1.title : id === 'f2' ? `${n} ${CODE_META.f2.title}` : `a class with ${n} instances`;
  return { id, title, kind: 'code', single: CODE_META[id].single, value, refBytes: null, refNote: null };
}
