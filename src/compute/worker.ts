/**
 * The one generic worker of the pool. It receives function payloads once (keyed by a small id the pool
 * assigns per content hash), loads each once, and then runs tasks that carry only (fid, arguments).
 *
 * Tasks run one at a time, in the order they arrive: a task that returns a promise holds the worker until it
 * settles. That is what lets the pool blame exactly one task when the worker dies (the slot says which),
 * cancel queued tasks without touching the running one, and time a task from its real start.
 *
 * Results are batched: the worker posts what it has when it runs out of tasks, before waiting for a promise,
 * and at least every FLUSH_MS during a long run of small tasks. The results of one batch that need pikala
 * are serialized together, as one array: one dumps call per batch instead of one per task (a small dumps
 * costs ~10 µs of fixed work, the same value inside a batch well under 1 µs). Results that share objects
 * therefore arrive sharing them, as they would in one thread.
 */
import { parentPort, receiveMessageOnPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { dumps } from '../api/dumps.js';
import { loads } from '../api/loads.js';
import { PikalaError } from '../api/errors.js';
import { compiledUnitCount } from '../code/rebuild.js';
import {
  Op, RESULT_STRIDE, SlotIndex, Status, TASK_STRIDE, TaskFlag, isPrimitive, isPrimitiveArray,
  type WorkerInit, type WorkerStats,
} from './protocol.js';

const FLUSH_MS = 1;
/** Results at least this big move their buffer instead of copying it. */
const TRANSFER_MIN = 64 * 1024;

interface Entry {
  code: unknown[] | null;
  drop: number[] | null;
  tasks: unknown[];
  pos: number;
}

const init = (workerData as { pikalaPool?: WorkerInit } | null)?.pikalaPool;
if (parentPort !== null && init !== undefined) start(parentPort, init);

function start(port: NonNullable<typeof parentPort>, init: WorkerInit): void {
  const slot = new Int32Array(init.slot);
  const control: MessagePort = init.control;
  const epoch = init.epoch;
  process.argv.splice(0, process.argv.length, ...init.argv);

  const codes = new Map<number, Uint8Array>();
  const fns = new Map<number, Function>();
  const queue: Entry[] = [];
  const cancelled = new Set<number>();
  let cancelSeen = 0;
  let waiting = false; // a task's promise is pending: drain resumes when it settles
  let tasksRun = 0;
  let functionsLoaded = 0;

  let results: unknown[] = [];
  let transfer: ArrayBuffer[] = [];
  let firstResultAt = 0;

  port.on('message', (msg: unknown[]) => {
    switch (msg[0]) {
      case Op.Tasks:
        queue.push({ code: msg[1] as unknown[] | null, tasks: msg[2] as unknown[], drop: msg[3] as number[] | null, pos: -1 });
        // Cancellations do not wait behind tasks in this port: they come through the control port, read
        // synchronously before each task, so the tasks can start right away.
        if (!waiting) drain();
        break;
      case Op.Stats: {
        const stats: WorkerStats = {
          threadId, tasks: tasksRun, functionsLoaded, functionsCached: fns.size, compiledUnits: compiledUnitCount(),
        };
        port.postMessage([Op.Stats, msg[1], stats]);
        break;
      }
    }
  });

  // An exception no task can catch (a timer's callback throwing, an unhandled rejection) leaves the worker
  // in an unknown state: report it against the running task, with its class kept, and let the pool replace us.
  process.on('uncaughtException', (err) => {
    const id = Atomics.load(slot, SlotIndex.Running);
    try { flush(); } catch { /* the results are lost; the pool runs those tasks again */ }
    const [status, data] = encodeThrown(0, err);
    try { port.postMessage([Op.Fatal, id, status, data]); } catch { /* nothing more to do */ }
    process.exit(1);
  });

  function readCancels(): void {
    cancelSeen = Atomics.load(slot, SlotIndex.Cancel);
    for (let m = receiveMessageOnPort(control); m !== undefined; m = receiveMessageOnPort(control)) {
      for (const id of m.message as number[]) cancelled.add(id);
    }
  }

  function drain(): void {
    for (;;) {
      const entry = queue[0];
      if (entry === undefined) break;
      if (entry.pos < 0) {
        // The entry's bookkeeping applies in order: after every task sent before it.
        if (entry.drop !== null) for (const fid of entry.drop) { fns.delete(fid); codes.delete(fid); }
        const code = entry.code;
        if (code !== null) for (let i = 0; i < code.length; i += 2) codes.set(code[i] as number, code[i + 1] as Uint8Array);
        entry.pos = 0;
      }
      const t = entry.tasks;
      while (entry.pos < t.length) {
        const i = entry.pos;
        entry.pos += TASK_STRIDE;
        const id = t[i] as number;
        const flags = t[i + 2] as number;
        const data = t[i + 3];
        t[i + 3] = undefined;
        if (flags & TaskFlag.Timed) Atomics.store(slot, SlotIndex.Started, Date.now() - epoch);
        Atomics.store(slot, SlotIndex.Running, id);
        // After publishing the running id: a cancellation the pool made before it read that id is seen here.
        if (Atomics.load(slot, SlotIndex.Cancel) !== cancelSeen) readCancels();
        if (cancelled.size !== 0 && cancelled.delete(id)) {
          push(id, Status.Skipped, null, 0);
          continue;
        }
        tasksRun++;
        const pending = runTask(id, t[i + 1] as number, flags, data, t[i + 4] as number);
        if (pending !== undefined) {
          waiting = true;
          flush();
          pending.then(resume, resume);
          return;
        }
        Atomics.store(slot, SlotIndex.Running, 0);
      }
      queue.shift();
    }
    Atomics.store(slot, SlotIndex.Running, 0);
    flush();
  }

  function resume(): void {
    waiting = false;
    Atomics.store(slot, SlotIndex.Running, 0);
    drain();
  }

  function functionFor(fid: number): Function {
    const fn = fns.get(fid);
    if (fn !== undefined) return fn;
    const bytes = codes.get(fid);
    if (bytes === undefined) throw new PikalaError('PIKALA_CORRUPT', `pool protocol: function ${fid} was never sent to this worker`);
    const loaded = loads(bytes);
    if (typeof loaded !== 'function') throw new PikalaError('PIKALA_CORRUPT', 'pool protocol: the shipped payload is not a function');
    codes.delete(fid);
    fns.set(fid, loaded);
    functionsLoaded++;
    return loaded;
  }

  /** Runs one task; returns a promise when it is still running (an async function). */
  function runTask(id: number, fid: number, flags: number, data: unknown, base: number): Promise<void> | undefined {
    let t0 = performance.now();
    const index = base;
    try {
      const fn = functionFor(fid);
      t0 = performance.now(); // the timing feeds the pool's estimates: loading the function is a one-off
      // The task's bytes are this worker's alone (a copy or a transfer): its typed arrays can be views over them.
      const input = (flags & TaskFlag.Bytes ? loads(data as Uint8Array, { zeroCopy: true }) : data) as unknown[];
      if (flags & TaskFlag.Chunk) {
        return runChunk(id, fn, input, base, (flags & TaskFlag.Timed) !== 0, t0, 0, new Array(input.length));
      }
      const r: unknown = Reflect.apply(fn, undefined, input);
      if (isThenable(r)) {
        return Promise.resolve(r).then((v) => sendOk(id, v, false, t0), (e: unknown) => sendThrown(id, index, e, t0));
      }
      sendOk(id, r, false, t0);
    } catch (e) {
      sendThrown(id, index, e, t0);
    }
    return undefined;
  }

  function runChunk(id: number, fn: Function, items: unknown[], base: number, timed: boolean, t0: number,
    from: number, out: unknown[]): Promise<void> | undefined {
    for (let i = from; i < items.length; i++) {
      if (timed && i !== 0) Atomics.store(slot, SlotIndex.Started, Date.now() - epoch);
      let r: unknown;
      try {
        r = fn(items[i], base + i);
      } catch (e) {
        sendThrown(id, base + i, e, t0);
        return undefined;
      }
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          (v) => { out[i] = v; return runChunk(id, fn, items, base, timed, t0, i + 1, out); },
          (e: unknown) => sendThrown(id, base + i, e, t0));
      }
      out[i] = r;
    }
    sendOk(id, out, true, t0);
    return undefined;
  }

  function sendOk(id: number, value: unknown, chunk: boolean, t0: number): void {
    const raw = chunk ? isPrimitiveArray(value as unknown[]) : isPrimitive(value);
    push(id, raw ? Status.OkRaw : Status.OkBatch, value, performance.now() - t0);
  }

  function sendThrown(id: number, index: number, e: unknown, t0: number): void {
    const [status, data] = encodeThrown(index, e);
    push(id, status, data, performance.now() - t0);
  }

  function push(id: number, status: number, data: unknown, ms: number): void {
    if (results.length === 0) firstResultAt = performance.now();
    results.push(id, status, data, ms);
    if (data instanceof Uint8Array && data.byteLength >= TRANSFER_MIN && owns(data)) transfer.push(data.buffer as ArrayBuffer);
    if (results.length >= RESULT_STRIDE * 4096 || performance.now() - firstResultAt >= FLUSH_MS) flush();
  }

  function flush(): void {
    if (results.length === 0) return;
    const r = results;
    const tr = transfer;
    results = [];
    transfer = [];
    let batch: Uint8Array | null = null;
    const values: unknown[] = [];
    for (let i = 0; i < r.length; i += RESULT_STRIDE) {
      if (r[i + 1] === Status.OkBatch) { values.push(r[i + 2]); r[i + 2] = values.length - 1; }
    }
    if (values.length !== 0) {
      try {
        batch = dumps(values);
      } catch {
        // Some result cannot be serialized: encode each alone, so only its task fails.
        batch = null;
        let k = 0;
        for (let i = 0; i < r.length; i += RESULT_STRIDE) {
          if (r[i + 1] !== Status.OkBatch) continue;
          const v = values[k++];
          try {
            r[i + 2] = dumps(v);
            r[i + 1] = Status.OkBytes;
          } catch (e) {
            const err = e instanceof PikalaError ? new PikalaError(e.code, `the task's result cannot be sent back: ${e.message}`) : e;
            const [status, data] = encodeThrown(0, err);
            r[i + 1] = status;
            r[i + 2] = data;
          }
        }
      }
      if (batch !== null && batch.byteLength >= TRANSFER_MIN && owns(batch)) tr.push(batch.buffer as ArrayBuffer);
    }
    port.postMessage([Op.Results, r, batch], tr);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function owns(a: Uint8Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !(a.buffer instanceof SharedArrayBuffer);
}

/**
 * A thrown value, for the pool: pikala's own errors as their fields (so the main thread rebuilds its own
 * PikalaError class, not a copy shipped by value); anything else as a pikala payload (class, message, cause,
 * stack and extra properties kept); and when even that fails, the error's text with the reason.
 */
function encodeThrown(index: number, e: unknown): [Status, unknown] {
  if (e instanceof PikalaError) {
    return [Status.Failed, [index, { code: e.code, message: e.message, path: e.path, stack: e.stack }]];
  }
  try {
    return [Status.Threw, [index, dumps(e)]];
  } catch (why) {
    const o = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; message?: unknown; stack?: unknown };
    return [Status.ThrewUnserializable, [index, {
      name: typeof o.name === 'string' ? o.name : 'Error',
      message: typeof o.message === 'string' ? o.message : String(e),
      stack: typeof o.stack === 'string' ? o.stack : undefined,
      reason: (why as Error)?.message ?? String(why),
    }]];
  }
}
