/**
 * A pool of worker threads that runs functions pikala ships: closures with their captured state, classes and
 * instances included. A thin layer on worker_threads (not piscina/tinypool): bench/pool.mjs measured both,
 * and the thin pool's batching is what keeps per-task overhead near a raw postMessage round trip.
 *
 * How a task travels:
 * - The function is serialized once per pool (by identity, like Dask's and Ray's function caches) and
 *   identified by the hash of its bytes. Each worker receives those bytes once, loads them once, and from then
 *   on a task is (function id, arguments). Redefining the function, or changing what it captured and calling
 *   `forget(fn)`, gives new bytes and a new id.
 * - Arguments and results travel as pikala payloads; arrays of primitives (numbers, strings, booleans, null,
 *   undefined, bigints) are sent as they are, which structured clone carries exactly.
 * - Tasks and results are batched: the pool keeps a few milliseconds of estimated work queued on each worker
 *   (estimates come from the workers' own timings per function), and workers post results in batches.
 * - A worker runs one task at a time and publishes the running task's id in a shared slot, so a crash, a
 *   timeout or an abort concerns exactly one task; the worker's other queued tasks go to another worker.
 *   A task can therefore run more than once when a worker dies (at-least-once, like every job system).
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dumps } from '../api/dumps.js';
import { loads } from '../api/loads.js';
import { PikalaError, type PikalaErrorCode } from '../api/errors.js';
import { computeDir } from './here.cjs';
import {
  Op, RESULT_STRIDE, SLOT_LENGTH, SlotIndex, Status, TaskFlag, isPrimitiveArray, type WorkerInit,
} from './protocol.js';

// The public types below use no Node type (`ResourceLimits` is restated): a TypeScript project without
// @types/node can still type-check code that imports pikala.

/** Limits of each worker's heap and stack (worker_threads' ResourceLimits). */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** A live worker's own counters. */
export interface WorkerStats {
  threadId: number;
  /** Tasks it ran (a map chunk counts once). */
  tasks: number;
  /** Function payloads it loaded (once per function per worker). */
  functionsLoaded: number;
  functionsCached: number;
  /** pikala's compiledUnitCount() in that worker: code units compiled by loads. */
  compiledUnits: number;
}

export interface PoolOptions {
  /** Number of worker threads. Default: `os.availableParallelism()`. */
  size?: number;
  /** Default per-task timeout in ms (for map: per item). A timed-out task's worker is replaced. */
  timeout?: number;
  /** Limits for each worker (e.g. `{ maxOldGenerationSizeMb: 256 }`); a worker exceeding them is replaced. */
  resourceLimits?: WorkerResourceLimits;
  /** Node flags for the workers. Default: the main thread's (inherited, as worker_threads does). */
  execArgv?: string[];
  /** Thread name prefix (shown in inspector and heap tools). */
  name?: string;
}

export interface TaskOptions {
  /** Cancels the task: queued, it is dropped; running, its worker is terminated and replaced. */
  signal?: AbortSignal;
  /** Milliseconds the task may run (from its start, not from submission). 0 or Infinity: no limit. */
  timeout?: number;
}

export interface MapOptions extends TaskOptions {
  /** Most chunks of this call in flight at once. Default: no limit beyond the pool's own batching. */
  concurrency?: number;
  /** Items per task. Default: adaptive, aiming at ~10 ms of work per chunk and 4+ chunks per worker. */
  chunkSize?: number;
  /** Called after each finished chunk with the number of finished items and the total (if known). */
  onProgress?: (done: number, total: number | undefined) => void;
}

export interface PoolStats {
  size: number;
  /** Times a function was serialized by this pool (once per function, see `forget`). */
  functionsSerialized: number;
  tasksCompleted: number;
  workersStarted: number;
  /** Workers that crashed, timed out or were aborted, and were replaced. */
  workersReplaced: number;
  bytesSent: number;
  bytesReceived: number;
  /** Live workers' own counters (tasks run, functions loaded, code units compiled). */
  workers: WorkerStats[];
}

type AnyFn = (...args: any[]) => unknown;
type Items<T> = Iterable<T> | AsyncIterable<T>;

const TARGET_QUEUED_MS = 4;
const MAX_INFLIGHT = 1024;
const CHUNK_TARGET_MS = 10;
const MAX_CHUNK = 10_000;
const FUNCTIONS_PER_WORKER = 128;
const TRANSFER_MIN = 64 * 1024;
const STARTUP_FAILURES = 3;
/** The estimate of a task whose function has not reported a timing yet: it goes only to an idle worker. */
const UNKNOWN_EST = 1e9;

/**
 * How a worker starts: a one-line eval'd bootstrap that imports this build's worker.js by its file URL
 * (computeDir comes from here.cts, CommonJS in both builds; see there). Not `new Worker(path)`: a worker
 * inherits the main thread's flags, and `node --input-type=module -e ...` makes a file entry point fail,
 * while `import()` works in eval'd code of either input type. The flags are inherited implicitly (no
 * `execArgv`), because passing process.execArgv explicitly makes Node reject per-process flags such as
 * --disallow-code-generation-from-strings, which then apply to the workers as they should.
 */
const WORKER_BOOTSTRAP = `import(${JSON.stringify(pathToFileURL(join(computeDir, 'worker.js')).href)});`;

/** A function as this pool ships it. */
interface Shipped {
  fid: number;
  bytes: Uint8Array;
  /** Estimated ms per call (workers' timings, smoothed); NaN until the first result. */
  est: number;
}

class Task {
  settled = false;
  slot: Slot | null = null;
  est = 0;
  timer: NodeJS.Timeout | null = null;
  signal: AbortSignal | null = null;
  onAbort: (() => void) | null = null;

  constructor(
    public id: number,
    readonly shipped: Shipped,
    public flags: number,
    public data: unknown,
    /** What `data` was made from, to encode again if the bytes were moved to a worker that died. */
    readonly source: unknown[],
    readonly base: number,
    readonly count: number,
    readonly timeout: number,
    readonly job: Job | null,
    readonly resolve: ((v: unknown) => void) | null,
    readonly reject: ((e: unknown) => void) | null,
  ) {}
}

/** One worker and what the pool knows about it. */
class Slot {
  readonly state: Int32Array;
  readonly inflight = new Map<number, Task>();
  inflightEst = 0;
  /** Function ids this worker holds, least recently used first. */
  readonly known = new Map<number, true>();
  ranAny = false;
  retired = false;
  refed = true;
  error: unknown = undefined;
  fatal: { taskId: number; error: unknown } | null = null;
  readonly statsWaiters = new Map<number, (s: WorkerStats | null) => void>();

  constructor(readonly worker: Worker, sab: SharedArrayBuffer, readonly control: MessagePort) {
    this.state = new Int32Array(sab);
  }
}

/** A double-ended queue of tasks waiting for a worker. */
class TaskQueue {
  private items: (Task | undefined)[] = [];
  private head = 0;
  get length(): number { return this.items.length - this.head; }
  push(t: Task): void { this.items.push(t); }
  unshift(ts: Task[]): void {
    this.items = [...ts, ...this.items.slice(this.head)];
    this.head = 0;
  }
  peek(): Task | undefined {
    while (this.head < this.items.length) {
      const t = this.items[this.head]!;
      if (!t.settled) return t;
      this.items[this.head++] = undefined;
    }
    return undefined;
  }
  shift(): Task | undefined {
    const t = this.peek();
    if (t !== undefined) this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return t;
  }
  drain(): Task[] {
    const out = this.items.slice(this.head).filter((t): t is Task => t !== undefined && !t.settled);
    this.items = [];
    this.head = 0;
    return out;
  }
}

const enum JobMode { Collect, Ordered, Unordered }

/** One map/imap call: cuts its items into chunk tasks on demand, gathers their results. */
class Job {
  readonly inflight = new Set<Task>();
  private readonly array: ArrayLike<unknown> | null;
  private readonly iterator: Iterator<unknown> | null;
  private readonly asyncIterator: AsyncIterator<unknown> | null;
  private readonly buffer: unknown[] = [];
  private pulling = false;
  private exhausted = false;
  private next = 0;
  readonly total: number | undefined;
  private itemEst = NaN;
  done = 0;
  finished = false;
  failed = false;
  error: unknown = undefined;
  // Collect
  readonly results: unknown[] = [];
  // Streams
  private readonly ordered = new Map<number, unknown>();
  private nextOut = 0;
  private readonly unordered: [number, unknown][] = [];
  private waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void } | null = null;
  private settle: { resolve: (v: unknown[]) => void; reject: (e: unknown) => void } | null = null;
  private onAbort: (() => void) | null = null;

  constructor(
    readonly pool: PoolCore,
    readonly shipped: Shipped,
    items: Items<unknown>,
    readonly mode: JobMode,
    readonly options: MapOptions,
    readonly timeout: number,
  ) {
    if (Array.isArray(items) || ArrayBuffer.isView(items)) {
      this.array = items as unknown as ArrayLike<unknown>;
      this.iterator = null;
      this.asyncIterator = null;
      this.total = this.array.length;
      if (mode === JobMode.Collect) this.results.length = this.total;
    } else if (items !== null && typeof (items as Iterable<unknown>)[Symbol.iterator] === 'function') {
      this.array = null;
      this.iterator = (items as Iterable<unknown>)[Symbol.iterator]();
      this.asyncIterator = null;
      this.total = undefined;
    } else if (items !== null && typeof (items as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      this.array = null;
      this.iterator = null;
      this.asyncIterator = (items as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      this.total = undefined;
    } else {
      throw new TypeError('pool.map: items must be an array, an iterable or an async iterable');
    }
    const signal = options.signal;
    if (signal !== undefined) {
      this.onAbort = () => this.fail(abortError(signal), true);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  promise(): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      if (this.failed) { reject(this.error); return; }
      this.settle = { resolve, reject };
      this.checkDone();
    });
  }

  /** The next chunk to run, or null when none can be made now (exhausted, throttled, waiting for items). */
  take(): Task | null {
    if (this.finished) return null;
    const o = this.options;
    if (o.concurrency !== undefined && this.inflight.size >= o.concurrency) return null;
    if (this.mode !== JobMode.Collect && this.buffered() >= this.highWater()) return null;
    const want = this.chunkSize();
    let items: unknown[];
    if (this.array !== null) {
      if (this.next >= this.array.length) { this.exhausted = true; this.checkDone(); return null; }
      const end = Math.min(this.array.length, this.next + want);
      items = Array.isArray(this.array) ? this.array.slice(this.next, end) : Array.prototype.slice.call(this.array, this.next, end);
      if (end >= this.array.length) this.exhausted = true;
    } else if (this.iterator !== null) {
      items = [];
      while (items.length < want && !this.exhausted) {
        let r: IteratorResult<unknown>;
        try { r = this.iterator.next(); } catch (e) { this.fail(e); return null; }
        if (r.done) this.exhausted = true; else items.push(r.value);
      }
      if (items.length === 0) { this.checkDone(); return null; }
    } else {
      if (this.buffer.length === 0) { this.pull(want); this.checkDone(); return null; }
      items = this.buffer.splice(0, want);
      this.pull(want);
    }
    const base = this.next;
    this.next += items.length;
    let task: Task;
    try {
      task = this.pool._makeTask(this.shipped, items, TaskFlag.Chunk, base, this.timeout, this, null, null);
    } catch (e) {
      this.fail(e);
      return null;
    }
    task.est = Number.isNaN(this.itemEst) ? UNKNOWN_EST : this.itemEst * items.length;
    this.inflight.add(task);
    return task;
  }

  private chunkSize(): number {
    if (this.options.chunkSize !== undefined) return Math.max(1, Math.floor(this.options.chunkSize));
    if (Number.isNaN(this.itemEst)) return 1;
    let n = Math.round(CHUNK_TARGET_MS / Math.max(this.itemEst, 1e-4));
    if (this.total !== undefined) n = Math.min(n, Math.ceil((this.total - this.next) / (4 * this.pool.size)));
    return Math.max(1, Math.min(n, MAX_CHUNK));
  }

  private buffered(): number {
    let n = this.mode === JobMode.Ordered ? this.ordered.size : this.unordered.length;
    for (const t of this.inflight) n += t.count;
    return n;
  }

  private highWater(): number {
    return Math.max(256, 8 * this.pool.size * this.chunkSize());
  }

  private pull(want: number): void {
    if (this.pulling || this.exhausted || this.finished) return;
    this.pulling = true;
    const target = Math.max(want * 2, 16);
    const loop = async (): Promise<void> => {
      try {
        while (!this.exhausted && !this.finished && this.buffer.length < target) {
          const r = await this.asyncIterator!.next();
          if (r.done) this.exhausted = true; else this.buffer.push(r.value);
        }
      } catch (e) {
        this.fail(e);
      } finally {
        this.pulling = false;
      }
      this.checkDone();
      this.pool._schedule();
    };
    void loop();
  }

  /** A chunk came back. */
  complete(task: Task, values: unknown[], ms: number): void {
    this.inflight.delete(task);
    if (this.finished) return;
    const perItem = ms / Math.max(1, task.count);
    this.itemEst = Number.isNaN(this.itemEst) ? perItem : this.itemEst * 0.7 + perItem * 0.3;
    const base = task.base;
    switch (this.mode) {
      case JobMode.Collect:
        for (let i = 0; i < values.length; i++) this.results[base + i] = values[i];
        break;
      case JobMode.Ordered:
        for (let i = 0; i < values.length; i++) this.ordered.set(base + i, values[i]);
        break;
      case JobMode.Unordered:
        for (let i = 0; i < values.length; i++) this.unordered.push([base + i, values[i]]);
        break;
    }
    this.done += values.length;
    if (this.options.onProgress !== undefined) {
      try { this.options.onProgress(this.done, this.total); } catch (e) { this.fail(e); return; }
    }
    this.deliver();
    this.checkDone();
  }

  /**
   * The call fails: its queued chunks are dropped; running ones finish on their workers and are ignored,
   * unless `hard` (an abort), which terminates their workers.
   */
  fail(e: unknown, hard = false): void {
    if (this.finished) return;
    this.finished = true;
    this.failed = true;
    this.error = e;
    this.detach();
    for (const t of this.inflight) this.pool._cancel(t, hard);
    this.inflight.clear();
    if (this.settle !== null) this.settle.reject(e);
    if (this.waiter !== null) { const w = this.waiter; this.waiter = null; w.reject(e); }
  }

  /** The consumer stopped iterating: stop quietly. */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.detach();
    for (const t of this.inflight) this.pool._cancel(t, false);
    this.inflight.clear();
    void this.asyncIterator?.return?.();
    if (this.iterator !== null) try { this.iterator.return?.(); } catch { /* ignore */ }
  }

  private detach(): void {
    if (this.onAbort !== null) this.options.signal!.removeEventListener('abort', this.onAbort);
    this.onAbort = null;
    this.pool._jobDone(this);
  }

  checkDone(): void {
    if (this.finished || !this.exhausted || this.inflight.size !== 0 || this.buffer.length !== 0 || this.pulling) return;
    if (this.array !== null && this.next < this.array.length) return;
    if (this.mode === JobMode.Collect) {
      this.finished = true;
      this.detach();
      if (this.settle !== null) this.settle.resolve(this.results);
      return;
    }
    if (this.ordered.size === 0 && this.unordered.length === 0) {
      this.finished = true;
      this.detach();
      this.deliver();
    }
  }

  // ------------------------------------------------------------------------------ async iterator side

  nextResult(): Promise<IteratorResult<unknown>> {
    if (this.waiter !== null) return Promise.reject(new Error('pool.imap: next() called before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  private deliver(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.failed) { this.waiter = null; w.reject(this.error); return; }
    if (this.mode === JobMode.Ordered && this.ordered.has(this.nextOut)) {
      const v = this.ordered.get(this.nextOut);
      this.ordered.delete(this.nextOut++);
      this.waiter = null;
      w.resolve({ value: v, done: false });
    } else if (this.mode === JobMode.Unordered && this.unordered.length !== 0) {
      this.waiter = null;
      w.resolve({ value: this.unordered.shift(), done: false });
    } else if (this.finished) {
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
      return;
    } else {
      return;
    }
    // A result was consumed: room for more work.
    this.checkDone();
    this.pool._schedule();
  }
}

class JobIterator<T> implements AsyncIterableIterator<T> {
  constructor(private readonly job: Job) {}
  next(): Promise<IteratorResult<T>> { return this.job.nextResult() as Promise<IteratorResult<T>>; }
  return(): Promise<IteratorResult<T>> {
    this.job.stop();
    return Promise.resolve({ value: undefined, done: true });
  }
  [Symbol.asyncIterator](): this { return this; }
}

/** The pool's machinery; `Pool` is its public face (so the declarations expose nothing else). */
class PoolCore {
  readonly size: number;
  private readonly options: PoolOptions;
  private readonly slots: Slot[] = [];
  private readonly ready = new TaskQueue();
  private readonly jobs: Job[] = [];
  private readonly shippedByFn = new WeakMap<Function, Shipped>();
  private readonly fidByHash = new Map<string, number>();
  private nextFid = 1;
  private nextId = 1;
  private scheduled = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private startupFailures = 0;
  private lastStartupError: unknown = undefined;
  private readonly epoch = Date.now();
  private readonly counters = {
    functionsSerialized: 0, tasksCompleted: 0, workersStarted: 0, workersReplaced: 0, bytesSent: 0, bytesReceived: 0,
  };
  private statsSeq = 0;

  constructor(options: PoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Pool: size must be a positive integer (got ${size})`);
    this.size = size;
    this.options = options;
  }

  exec(fn: AnyFn, args: unknown[], options: TaskOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      if (this.closed) throw closedError();
      if (signal?.aborted) throw abortError(signal);
      if (!Array.isArray(args)) throw new TypeError('pool.exec: args must be an array');
      const shipped = this.ship(fn);
      const task = this._makeTask(shipped, args, 0, 0, this.timeoutOf(options), null, resolve, reject);
      if (signal !== undefined) {
        task.signal = signal;
        task.onAbort = () => this.abortTask(task, abortError(signal));
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.ready.push(task);
      this._schedule();
    });
  }

  map(fn: AnyFn, items: Items<unknown>, options: MapOptions): Promise<unknown[]> {
    try {
      return this.startJob(fn, items, JobMode.Collect, options).promise();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  stream(fn: AnyFn, items: Items<unknown>, mode: JobMode, options: MapOptions): AsyncIterableIterator<unknown> {
    try {
      return new JobIterator(this.startJob(fn, items, mode, options));
    } catch (e) {
      // Like map's rejected promise: the error surfaces where the results are awaited.
      let thrown = false;
      return {
        next: () => (thrown ? Promise.resolve({ value: undefined, done: true }) : ((thrown = true), Promise.reject(e))),
        return: () => Promise.resolve({ value: undefined, done: true }),
        [Symbol.asyncIterator]() { return this; },
      };
    }
  }

  forget(fn: Function): void {
    this.shippedByFn.delete(fn);
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    this.closing = new Promise<void>((resolve) => {
      if (this.isIdle()) resolve(); else this.idleWaiters.push(resolve);
    }).then(() => this.stopWorkers());
    return this.closing;
  }

  async terminate(): Promise<void> {
    this.closed = true;
    const err = closedError();
    for (const j of [...this.jobs]) j.fail(err);
    for (const t of this.ready.drain()) this.settleError(t, err);
    for (const s of this.slots) for (const t of [...s.inflight.values()]) this.settleError(t, err);
    await this.stopWorkers();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  async stats(): Promise<PoolStats> {
    const workers = await Promise.all(this.slots.filter((s) => !s.retired).map((s) => new Promise<WorkerStats | null>((resolve) => {
      const id = ++this.statsSeq;
      s.statsWaiters.set(id, resolve);
      this.refIfBusy(s);
      s.worker.postMessage([Op.Stats, id]);
    })));
    return { size: this.size, ...this.counters, workers: workers.filter((w): w is WorkerStats => w !== null) };
  }

  // ----------------------------------------------------------------------------------------- internals

  private timeoutOf(options: TaskOptions): number {
    const t = options.timeout ?? this.options.timeout ?? 0;
    if (typeof t !== 'number' || Number.isNaN(t) || t < 0) throw new RangeError(`timeout must be a number of ms >= 0 (got ${t})`);
    return t === Infinity ? 0 : t;
  }

  private ship(fn: Function): Shipped {
    if (typeof fn !== 'function') throw new TypeError('Pool: the task must be a function');
    let s = this.shippedByFn.get(fn);
    if (s !== undefined) return s;
    const bytes = dumps(fn);
    this.counters.functionsSerialized++;
    const hash = createHash('sha256').update(bytes).digest('base64url');
    let fid = this.fidByHash.get(hash);
    if (fid === undefined) this.fidByHash.set(hash, (fid = this.nextFid++));
    s = { fid, bytes, est: NaN };
    this.shippedByFn.set(fn, s);
    return s;
  }

  private startJob(fn: AnyFn, items: Items<unknown>, mode: JobMode, options: MapOptions): Job {
    if (this.closed) throw closedError();
    if (options.signal?.aborted) throw abortError(options.signal);
    if (options.chunkSize !== undefined && !(options.chunkSize >= 1)) throw new RangeError('chunkSize must be >= 1');
    if (options.concurrency !== undefined && !(options.concurrency >= 1)) throw new RangeError('concurrency must be >= 1');
    const job = new Job(this, this.ship(fn), items, mode, options, this.timeoutOf(options));
    this.jobs.push(job);
    this._schedule();
    return job;
  }

  /** @internal Encodes a task (a call's arguments or a chunk of items). Throws if they cannot be serialized. */
  _makeTask(shipped: Shipped, values: unknown[], flags: number, base: number, timeout: number, job: Job | null,
    resolve: ((v: unknown) => void) | null, reject: ((e: unknown) => void) | null): Task {
    let data: unknown = values;
    if (!isPrimitiveArray(values)) {
      try {
        data = dumps(values);
      } catch (e) {
        if (job === null || !(e instanceof PikalaError)) throw e;
        // Name the item (the chunk's path is relative to the chunk): find it by dumping each alone.
        let index = -1;
        let inner: PikalaError = e;
        for (let i = 0; i < values.length && index < 0; i++) {
          try { dumps(values[i]); } catch (x) { if (x instanceof PikalaError) { index = base + i; inner = x; } }
        }
        throw new PikalaError(inner.code, `item ${index} of pool.map cannot be sent to a worker: ${inner.message}`, { cause: inner });
      }
      flags |= TaskFlag.Bytes;
    }
    if (timeout > 0) flags |= TaskFlag.Timed;
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    const count = flags & TaskFlag.Chunk ? values.length : 1;
    return new Task(id, shipped, flags, data, values, base, count, timeout, job, resolve, reject);
  }

  /** @internal */
  _schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.pump());
  }

  /** @internal */
  _jobDone(job: Job): void {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    this.checkIdle();
  }

  /** @internal A task's caller gave up on it (its job failed or stopped): drop it wherever it is. */
  _cancel(t: Task, hard: boolean): void {
    if (t.settled) return;
    t.settled = true;
    this.cleanup(t);
    const s = t.slot;
    if (s !== null) this.withdraw(s, t, hard);
  }

  /**
   * Takes a settled task back from its worker. Not started yet: the worker skips it. Running: `hard`
   * terminates the worker (only that stops a busy thread) and replaces it; otherwise it finishes and its
   * result is ignored (a respawned worker costs more than most leftovers).
   */
  private withdraw(s: Slot, t: Task, hard: boolean): void {
    if (s.retired || !s.inflight.has(t.id)) return;
    s.control.postMessage([t.id]);
    Atomics.add(s.state, SlotIndex.Cancel, 1);
    // After the worker can see the cancellation: if it already started the task, the cancellation is too late.
    if (Atomics.load(s.state, SlotIndex.Running) === t.id) {
      if (hard) this.retire(s);
      return;
    }
    s.inflight.delete(t.id);
    s.inflightEst -= t.est;
    if (t.timer !== null) { clearTimeout(t.timer); t.timer = null; }
    this.refIfBusy(s);
    this._schedule();
  }

  private abortTask(t: Task, err: PikalaError): void {
    if (t.settled) return;
    const s = t.slot;
    this.settleError(t, err);
    if (s !== null) this.withdraw(s, t, true);
  }

  private isIdle(): boolean {
    if (this.ready.peek() !== undefined || this.jobs.length !== 0) return false;
    for (const s of this.slots) if (s.inflight.size !== 0) return false;
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length !== 0 && this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    this.scheduled = false;
    if (this.ready.peek() === undefined && this.jobs.length === 0) { this.checkIdle(); return; }
    if (this.startupFailures >= STARTUP_FAILURES) {
      this.failEverything(new PikalaError('PIKALA_WORKER_CRASHED',
        `pool workers exit before running any task (${STARTUP_FAILURES} in a row): ${describe(this.lastStartupError)}`,
        { cause: this.lastStartupError }));
      this.startupFailures = 0;
      return;
    }
    while (this.slots.length < this.size) {
      try {
        this.spawn();
      } catch (e) {
        // new Worker itself refused (bad execArgv or resourceLimits): nothing can run.
        this.failEverything(new PikalaError('PIKALA_WORKER_CRASHED', `cannot start a pool worker: ${describe(e)}`, { cause: e }));
        return;
      }
    }
    for (const s of this.slots) {
      if (s.retired) continue;
      let tasks: unknown[] | null = null;
      let code: unknown[] | null = null;
      let used: Set<number> | null = null;
      let bytes = 0;
      const transfer: ArrayBuffer[] = [];
      for (;;) {
        const t = this.peekTask();
        if (t === null) break;
        const est = t.job !== null ? t.est : Number.isNaN(t.shipped.est) ? UNKNOWN_EST : t.shipped.est;
        if (s.inflight.size !== 0 && (s.inflightEst + est > TARGET_QUEUED_MS || s.inflight.size >= MAX_INFLIGHT)) break;
        this.ready.shift();
        if (t.data instanceof Uint8Array && t.data.byteLength === 0 && t.flags & TaskFlag.Bytes) {
          // Its bytes were moved to a worker that died: encode the arguments again.
          try { t.data = dumps(t.source); } catch (e) { this.settleError(t, e); continue; }
        }
        t.est = est;
        tasks ??= [];
        const fid = t.shipped.fid;
        if (!s.known.has(fid)) {
          code ??= [];
          code.push(fid, t.shipped.bytes);
          bytes += t.shipped.bytes.byteLength;
        } else {
          s.known.delete(fid);
        }
        s.known.set(fid, true);
        (used ??= new Set()).add(fid);
        tasks.push(t.id, fid, t.flags, t.data, t.base);
        if (t.data instanceof Uint8Array) {
          bytes += t.data.byteLength;
          if (t.data.byteLength >= TRANSFER_MIN && owns(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
        }
        t.slot = s;
        s.inflight.set(t.id, t);
        s.inflightEst += t.est;
        if (t.timeout > 0) this.armTimeout(t);
      }
      if (tasks === null) continue;
      let drop: number[] | null = null;
      if (s.known.size > FUNCTIONS_PER_WORKER) {
        for (const fid of s.known.keys()) {
          if (s.known.size - (drop?.length ?? 0) <= FUNCTIONS_PER_WORKER) break;
          if (!used!.has(fid)) (drop ??= []).push(fid);
        }
        if (drop !== null) for (const fid of drop) s.known.delete(fid);
      }
      this.counters.bytesSent += bytes;
      this.refIfBusy(s);
      s.worker.postMessage([Op.Tasks, code, tasks, drop], transfer);
    }
  }

  /** The next task to dispatch: a waiting task, else a new chunk of the first job that can give one. */
  private peekTask(): Task | null {
    const t = this.ready.peek();
    if (t !== undefined) return t;
    for (const job of this.jobs.slice()) {
      const c = job.take();
      if (c !== null) {
        this.ready.push(c);
        return this.ready.peek() ?? null;
      }
    }
    return null;
  }

  private spawn(): Slot {
    const sab = new SharedArrayBuffer(SLOT_LENGTH * 4);
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { slot: sab, control: port2, epoch: this.epoch, argv: process.argv.slice() };
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      workerData: { pikalaPool: init },
      transferList: [port2],
      resourceLimits: this.options.resourceLimits,
      execArgv: this.options.execArgv,
      name: `${this.options.name ?? 'pikala-pool'}-${this.counters.workersStarted}`,
    });
    const s = new Slot(worker, sab, port1);
    // The control port is only written: it must not keep the process alive; nor must an idle worker.
    port1.unref();
    worker.unref();
    s.refed = false;
    this.counters.workersStarted++;
    worker.on('message', (m: unknown[]) => this.onMessage(s, m));
    worker.on('error', (e) => { s.error = e; });
    worker.on('exit', (code) => this.onExit(s, code));
    this.slots.push(s);
    return s;
  }

  private refIfBusy(s: Slot): void {
    const busy = s.inflight.size !== 0 || s.statsWaiters.size !== 0;
    if (busy === s.refed) return;
    s.refed = busy;
    if (busy) s.worker.ref(); else s.worker.unref();
  }

  private onMessage(s: Slot, m: unknown[]): void {
    if (s.retired) return;
    switch (m[0]) {
      case Op.Results: this.onResults(s, m[1] as unknown[], m[2] as Uint8Array | null); break;
      case Op.Stats: {
        const w = s.statsWaiters.get(m[1] as number);
        s.statsWaiters.delete(m[1] as number);
        this.refIfBusy(s);
        w?.(m[2] as WorkerStats);
        break;
      }
      case Op.Fatal: {
        const [, taskId, status, data] = m as [number, number, Status, unknown];
        s.fatal = { taskId, error: this.decodeThrown(status, data) };
        break;
      }
    }
  }

  private onResults(s: Slot, r: unknown[], batchBytes: Uint8Array | null): void {
    s.ranAny = true;
    this.startupFailures = 0;
    let batch: unknown[] | null = null;
    let batchError: unknown = undefined;
    if (batchBytes !== null) {
      this.counters.bytesReceived += batchBytes.byteLength;
      // The batch was transferred or copied to this thread and is read once: its typed arrays are handed over as
      // views instead of being copied again (results of one batch then share its memory).
      try { batch = loads(batchBytes, { zeroCopy: true }); } catch (e) { batchError = e; }
    }
    for (let i = 0; i < r.length; i += RESULT_STRIDE) {
      const t = s.inflight.get(r[i] as number);
      if (t === undefined) continue;
      s.inflight.delete(t.id);
      s.inflightEst -= t.est;
      if (t.timer !== null) { clearTimeout(t.timer); t.timer = null; }
      const status = r[i + 1] as Status;
      const data = r[i + 2];
      const ms = r[i + 3] as number;
      if (data instanceof Uint8Array) this.counters.bytesReceived += data.byteLength;
      if (status === Status.Skipped) continue;
      this.counters.tasksCompleted++;
      if (t.job === null) {
        const sh = t.shipped;
        sh.est = Number.isNaN(sh.est) ? ms : sh.est * 0.8 + ms * 0.2;
      }
      if (t.settled) continue;
      if (status === Status.OkRaw || status === Status.OkBytes || status === Status.OkBatch) {
        let value: unknown;
        try {
          if (status === Status.OkRaw) value = data;
          // A result payload of its own (a copy or a transfer, exactly sized): a large typed array in it is
          // handed over as a view instead of being copied once more.
          else if (status === Status.OkBytes) value = loads(data as Uint8Array, { zeroCopy: true });
          else if (batch !== null) value = batch[data as number];
          else throw batchError;
        } catch (e) {
          this.settleError(t, e);
          continue;
        }
        if (t.job !== null) {
          t.settled = true;
          this.cleanup(t);
          t.job.complete(t, value as unknown[], ms);
        } else {
          t.settled = true;
          this.cleanup(t);
          t.resolve!(value);
        }
      } else {
        this.settleError(t, this.decodeThrown(status, data));
      }
    }
    if (s.inflight.size === 0) { s.inflightEst = 0; this.refIfBusy(s); }
    this._schedule();
  }

  private decodeThrown(status: Status, data: unknown): unknown {
    const [, payload] = data as [number, unknown];
    switch (status) {
      case Status.Threw:
        try { return loads(payload as Uint8Array); } catch (e) { return e; }
      case Status.Failed: {
        const f = payload as { code: PikalaErrorCode; message: string; path?: string; stack?: string };
        const e = new PikalaError(f.code, f.message);
        if (f.path !== undefined) Object.defineProperty(e, 'path', { value: f.path, enumerable: true });
        if (f.stack !== undefined) e.stack = f.stack;
        return e;
      }
      case Status.ThrewUnserializable: {
        const f = payload as { name: string; message: string; stack?: string; reason: string };
        const e = new Error(`${f.message} (the worker's ${f.name} could not be sent back whole: ${f.reason})`);
        if (f.stack !== undefined) e.stack = f.stack;
        return e;
      }
      default:
        return new PikalaError('PIKALA_CORRUPT', `pool protocol: unknown status ${status}`);
    }
  }

  private settleError(t: Task, e: unknown): void {
    if (t.settled) return;
    t.settled = true;
    this.cleanup(t);
    if (t.job !== null) { t.job.inflight.delete(t); t.job.fail(e, false); } else t.reject!(e);
  }

  /**
   * A settled task lets go of its signal. Its timer stays while it is on a worker: a task whose caller gave
   * up may still be running there, and a runaway one must still be stopped.
   */
  private cleanup(t: Task): void {
    if (t.onAbort !== null) {
      t.signal!.removeEventListener('abort', t.onAbort);
      t.onAbort = null;
      t.signal = null;
    }
  }

  private armTimeout(t: Task): void {
    const check = (): void => {
      t.timer = null;
      const s = t.slot;
      if (s === null || s.retired || s.inflight.get(t.id) !== t) return;
      if (Atomics.load(s.state, SlotIndex.Running) === t.id) {
        const elapsed = Date.now() - this.epoch - Atomics.load(s.state, SlotIndex.Started);
        if (elapsed >= t.timeout) {
          const err = new PikalaError('PIKALA_TIMEOUT',
            `the task ran longer than its timeout of ${t.timeout} ms; its worker was terminated and replaced`);
          this.settleError(t, err);
          this.retire(s);
          return;
        }
        t.timer = setTimeout(check, t.timeout - elapsed + 1);
      } else {
        // Queued behind other tasks on its worker: the clock starts when it does.
        t.timer = setTimeout(check, Math.min(t.timeout, 20));
      }
      t.timer.unref();
    };
    t.timer = setTimeout(check, t.timeout);
    t.timer.unref();
  }

  /** Terminates a worker on purpose (timeout, abort); its other tasks go back to the queue. */
  private retire(s: Slot): void {
    if (s.retired) return;
    s.retired = true;
    this.counters.workersReplaced++;
    this.removeSlot(s);
    this.requeue(s);
    s.worker.terminate().catch(() => {});
    this._schedule();
  }

  private removeSlot(s: Slot): void {
    const i = this.slots.indexOf(s);
    if (i >= 0) this.slots.splice(i, 1);
    for (const w of s.statsWaiters.values()) w(null);
    s.statsWaiters.clear();
  }

  private requeue(s: Slot): void {
    const again: Task[] = [];
    for (const t of s.inflight.values()) {
      if (t.settled) continue;
      t.slot = null;
      if (t.timer !== null) { clearTimeout(t.timer); t.timer = null; }
      again.push(t);
    }
    s.inflight.clear();
    s.inflightEst = 0;
    again.sort((a, b) => a.id - b.id);
    if (again.length !== 0) this.ready.unshift(again);
  }

  private onExit(s: Slot, code: number): void {
    if (s.retired) return; // terminated on purpose, already handled
    s.retired = true;
    this.removeSlot(s);
    const running = Atomics.load(s.state, SlotIndex.Running);
    const culprit = running !== 0 ? s.inflight.get(running) : undefined;
    const why = crashError(s, code);
    if (culprit !== undefined) {
      s.inflight.delete(culprit.id);
      this.settleError(culprit, why);
    }
    if (this.closing !== null && this.isIdleExcept(s)) { this.checkIdle(); return; }
    this.counters.workersReplaced++;
    if (!s.ranAny && culprit === undefined) {
      this.startupFailures++;
      this.lastStartupError = s.error ?? why;
    } else {
      this.startupFailures = 0;
    }
    this.requeue(s);
    this._schedule();
  }

  private isIdleExcept(s: Slot): boolean {
    return s.inflight.size === 0 && this.isIdle();
  }

  private failEverything(err: PikalaError): void {
    for (const j of [...this.jobs]) j.fail(err);
    for (const t of this.ready.drain()) this.settleError(t, err);
    this.checkIdle();
  }

  private async stopWorkers(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => {
      s.retired = true;
      for (const w of s.statsWaiters.values()) w(null);
      return s.worker.terminate().catch(() => {});
    }));
  }
}

/**
 * A worker-thread pool for functions shipped with pikala.
 *
 * ```js
 * const pool = new Pool();
 * const k = 3;
 * await pool.run((x) => x * k, 14);               // 42
 * await pool.map((x) => x * k, [1, 2, 3]);        // [3, 6, 9]
 * for await (const v of pool.imap(slowFn, items)) console.log(v);
 * await pool.close();
 * ```
 */
export class Pool {
  readonly #core: PoolCore;

  constructor(options: PoolOptions = {}) {
    this.#core = new PoolCore(options);
  }

  /** Number of worker threads. */
  get size(): number {
    return this.#core.size;
  }

  /** Runs `fn(...args)` on a worker; resolves to its (awaited) result or rejects with what it threw. */
  run<F extends AnyFn>(fn: F, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> {
    return this.#core.exec(fn, args) as Promise<Awaited<ReturnType<F>>>;
  }

  /** `run` with options: an AbortSignal, a timeout. */
  exec<F extends AnyFn>(fn: F, args: Parameters<F>, options: TaskOptions = {}): Promise<Awaited<ReturnType<F>>> {
    return this.#core.exec(fn, args, options) as Promise<Awaited<ReturnType<F>>>;
  }

  /** Applies `fn(item, index)` to every item on the workers; resolves to the results in input order. */
  map<T, R>(fn: (item: T, index: number) => R, items: Items<T>, options: MapOptions = {}): Promise<Awaited<R>[]> {
    return this.#core.map(fn as AnyFn, items, options) as Promise<Awaited<R>[]>;
  }

  /** Like map, as an async iterator: results in input order, each as soon as it and those before it are done. */
  imap<T, R>(fn: (item: T, index: number) => R, items: Items<T>, options: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    return this.#core.stream(fn as AnyFn, items, JobMode.Ordered, options) as AsyncIterableIterator<Awaited<R>>;
  }

  /** Like imap, in completion order: yields `[index, result]` as each finishes. */
  imapUnordered<T, R>(fn: (item: T, index: number) => R, items: Items<T>, options: MapOptions = {}): AsyncIterableIterator<[number, Awaited<R>]> {
    return this.#core.stream(fn as AnyFn, items, JobMode.Unordered, options) as AsyncIterableIterator<[number, Awaited<R>]>;
  }

  /**
   * Forgets this pool's serialized copy of `fn`: the next call serializes it again, with the current values
   * of what it captured. (Workers keep their loaded copy only if the bytes are identical.)
   */
  forget(fn: Function): void {
    this.#core.forget(fn);
  }

  /**
   * Finishes every queued task, then stops the workers. New tasks are refused from now on. An imap stream
   * counts as queued work until it is consumed or its loop exits.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Stops the workers now; every pending task rejects with PIKALA_POOL_CLOSED. */
  terminate(): Promise<void> {
    return this.#core.terminate();
  }

  /** Counters of the pool and of each live worker (the workers answer between tasks). */
  stats(): Promise<PoolStats> {
    return this.#core.stats();
  }
}

function crashError(s: Slot, code: number): PikalaError {
  const e = s.error;
  if (s.fatal !== null) {
    return new PikalaError('PIKALA_WORKER_CRASHED',
      `the worker running this task crashed: uncaught exception outside the task's promise: ${describe(s.fatal.error)}`,
      { cause: s.fatal.error });
  }
  if (e !== undefined) {
    const oom = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    return new PikalaError('PIKALA_WORKER_CRASHED', oom
      ? `the worker running this task ran out of memory (${describe(e)}); it was replaced`
      : `the worker running this task failed: ${describe(e)}`, { cause: e });
  }
  return new PikalaError('PIKALA_WORKER_CRASHED',
    `the worker running this task exited with code ${code} (process.exit in the task?); it was replaced`);
}

function abortError(signal: AbortSignal): PikalaError {
  return new PikalaError('PIKALA_ABORTED', 'the task was aborted', { cause: signal.reason });
}

function closedError(): PikalaError {
  return new PikalaError('PIKALA_POOL_CLOSED', 'the pool is closed');
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function owns(a: Uint8Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !(a.buffer instanceof SharedArrayBuffer);
}
