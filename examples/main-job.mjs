// `npm start`: the main job of pikala's pool. A closure defined in this script, which captures local
// configuration, a helper function and a class instance, renders the Mandelbrot set on every core (one
// row per task, 256 sample points per character) and estimates its area, with a progress bar. Then the same
// closure runs on this one thread for the time to beat. It prints the picture, the area, both times and
// what crossed to the workers. Nothing here is written for workers: it is the script you would write anyway.
import { availableParallelism, loadavg } from 'node:os';
import { Pool, dumps } from 'pikala';

// ---------------------------------------------------------------------------------------------- the job

/** Local configuration: captured by the row renderer. */
const view = {
  center: [-0.6, 0],
  span: 3.0, // width of the view in the complex plane
  width: 100,
  height: 40,
  samples: 16, // per axis per character: 256 points
  maxIter: 2000,
};
if (process.argv.includes('--quick')) Object.assign(view, { samples: 3, maxIter: 300 }); // the test suite's run

/** A helper function: smoothed escape time of c = cx + i·cy (NaN inside the set). */
function escapeTime(cx, cy, maxIter) {
  let x = 0, y = 0, x2 = 0, y2 = 0, n = 0;
  while (x2 + y2 <= 256 && n < maxIter) {
    y = 2 * x * y + cy;
    x = x2 - y2 + cx;
    x2 = x * x;
    y2 = y * y;
    n++;
  }
  if (n === maxIter) return NaN;
  return n + 1 - Math.log2(Math.log2(x2 + y2) / 2);
}

/** A class instance: turns a character's samples into ink. */
class Palette {
  constructor(ramp, glow) { this.ramp = ramp; this.glow = glow; }
  /** Ink of one sample: 1 inside the set, a faint glow outside that grows near its edge. */
  ink(t, maxIter) {
    return Number.isNaN(t) ? 1 : this.glow * (Math.log(t) / Math.log(maxIter)) ** 4;
  }
  char(ink) {
    return this.ramp[Math.min(this.ramp.length - 1, Math.floor(ink * this.ramp.length))];
  }
}
const palette = new Palette(' .:-=+*#%@', 0.9);

/** The closure shipped to the workers: one row of the picture, averaged over samples² points per character. */
const renderRow = (row) => {
  const { center, span, width, height, samples, maxIter } = view;
  const step = span / width; // a character is about twice as tall as it is wide
  let line = '', inside = 0, iterations = 0;
  for (let col = 0; col < width; col++) {
    let ink = 0;
    for (let sy = 0; sy < samples; sy++) {
      for (let sx = 0; sx < samples; sx++) {
        const cx = center[0] + (col + (sx + 0.5) / samples - width / 2) * step;
        const cy = center[1] + (row + (sy + 0.5) / samples - height / 2) * step * 2;
        const t = escapeTime(cx, cy, maxIter);
        if (Number.isNaN(t)) { inside++; iterations += maxIter; } else iterations += Math.ceil(t);
        ink += palette.ink(t, maxIter);
      }
    }
    line += palette.char(ink / (samples * samples));
  }
  return { row, line, inside, iterations };
};

// ------------------------------------------------------------------------------------------------ progress

function progressBar(label, total) {
  const tty = process.stderr.isTTY;
  let last = -1;
  return (done) => {
    const pct = Math.floor((done / total) * 100);
    if (tty) {
      const w = 32, fill = Math.round((done / total) * w);
      process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${String(pct).padStart(3)}% ${done}/${total} rows`);
      if (done === total) process.stderr.write('\n');
    } else if (Math.floor(pct / 25) !== Math.floor(last / 25) || done === total) {
      process.stderr.write(`${label} ${pct}% (${done}/${total} rows)\n`);
    }
    last = pct;
  };
}

// -------------------------------------------------------------------------------------------------- run

const rows = Array.from({ length: view.height }, (_, y) => y);
const threads = availableParallelism();
const pool = new Pool({ size: threads });

const load = loadavg()[0];
let cpu0 = process.cpuUsage();
let t0 = performance.now();
const parallel = await pool.map(renderRow, rows, { onProgress: progressBar(`${threads} workers`, rows.length) });
const poolMs = performance.now() - t0;
const poolCpu = process.cpuUsage(cpu0); // every thread of the process
const stats = await pool.stats();
await pool.close();

const oneThread = [];
const tick = progressBar('1 thread  ', rows.length);
t0 = performance.now();
for (const y of rows) { oneThread.push(renderRow(y)); tick(y + 1); }
const mainMs = performance.now() - t0;

const samplesPerRow = view.width * view.samples ** 2;
const insideFraction = parallel.reduce((n, r) => n + r.inside, 0) / (samplesPerRow * view.height);
const viewArea = view.span * (view.span / view.width) * 2 * view.height;
const same = parallel.every((r, i) => r.line === oneThread[i].line && r.iterations === oneThread[i].iterations);
const iterations = parallel.reduce((n, r) => n + r.iterations, 0);
const fnBytes = dumps(renderRow).byteLength;
const resultBytes = dumps(parallel[0]).byteLength;

console.log();
for (const r of parallel) console.log(`  ${r.line}`);
console.log();
console.log(`The Mandelbrot set around ${view.center.join(' + ')}i, ${view.width}×${view.height} characters × ` +
  `${view.samples ** 2} samples, ${(iterations / 1e6).toFixed(0)} M iterations`);
console.log(`  its area, estimated: ${(insideFraction * viewArea).toFixed(4)} (best known: 1.5066; points that ` +
  `escape after ${view.maxIter} iterations count as inside)`);
console.log(`  one thread:  ${(mainMs / 1000).toFixed(2)} s`);
console.log(`  ${threads} workers:   ${(poolMs / 1000).toFixed(2)} s  (×${(mainMs / poolMs).toFixed(2)}, ` +
  `workers started inside the timing; ${((poolCpu.user + poolCpu.system) / 1e6).toFixed(2)} s of CPU across threads, ` +
  `load average ${load.toFixed(1)} on ${availableParallelism()} cores)`);
console.log(`  same picture both ways: ${same ? 'yes' : 'NO'}`);
console.log('Payloads:');
console.log(`  the closure (renderRow + view + escapeTime + palette): ${fnBytes} bytes, serialized ` +
  `${stats.functionsSerialized}× and sent once to each of ${stats.workersStarted} workers`);
console.log(`  each task: the row number (a primitive: sent as is); each result: ~${resultBytes} bytes of pikala payload`);
console.log(`  total sent to workers: ${stats.bytesSent} bytes; received: ${stats.bytesReceived} bytes`);
