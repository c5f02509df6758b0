#!/usr/bin/env node
/**
 * Same-process A/B of two (or more) pikala builds on one payload and direction: the builds alternate, gc()
 * before each 150 ms sample, 8 samples each, medians printed. Less noisy than two bench runs on a shared
 * machine, since both builds see the same load.
 *
 *   node --expose-gc bench/ab.mjs a enc /tmp/base /work/main        # folders with a dist/esm build
 *   node --expose-gc bench/ab.mjs e dec /tmp/base /work/main
 *   node --expose-gc bench/ab.mjs f3 enc /tmp/base /work/main      # (f) payloads too (warm figures)
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dataPayloads } from './lib/payloads.mjs';
import { codePayload } from './lib/code-payloads.mjs';

const [which, op, ...builds] = process.argv.slice(2);
if (!which || !['enc', 'dec'].includes(op) || builds.length === 0 || typeof gc !== 'function') {
  console.error('usage: node --expose-gc bench/ab.mjs <a|b|c|d|e|f1|f2|f3> <enc|dec> <build folder>...');
  process.exit(2);
}
const libs = await Promise.all(builds.map((b) => import(pathToFileURL(resolve(b, 'dist/esm/index.js')).href)));
const p = which.startsWith('f') ? codePayload(which, 1) : dataPayloads(1).find((x) => x.id === which);
const bytes = libs[0].dumps(p.value);
const res = builds.map(() => []);
for (let r = 0; r < 8; r++) {
  libs.forEach((l, k) => {
    const f = op === 'enc' ? () => l.dumps(p.value) : () => l.loads(bytes);
    for (let i = 0; i < 5; i++) f();
    gc();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 150) { f(); n++; }
    res[k].push((performance.now() - t0) / n);
  });
}
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`${which} ${op}: ${builds.map((b, k) => `${b} ${median(res[k]).toFixed(3)} ms`).join(', ')}`);
