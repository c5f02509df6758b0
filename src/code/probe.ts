/**
 * Exact answers the same-thread inspector cannot give, from a worker thread that debugs the main thread:
 *
 * - the `this` (and `new.target`) an arrow function captured: V8 keeps them in a context slot the scope
 *   view hides, but a paused frame of the arrow evaluates `this` to exactly that value;
 * - whether two closures share one scope instance: in a paused frame of one, set a scope variable to a
 *   sentinel and look for it in the other's scopes (then put the value back);
 * - the name binding of an enclosing named function expression (`function self() { return () => self }`):
 *   the scope view leaves it out, but the paused frame resolves it.
 *
 * The main thread calls the function through a small caller while the worker has a breakpoint on its entry;
 * the worker reads what it needs, then restarts the *caller's* frame, so the function's body never runs
 * (nor its default parameters). This works on the main thread only (a worker can debug only the main thread)
 * and for functions that pause on call and can be restarted: sync, non-generator, non-class. While the main
 * thread waits for the worker it blocks in Atomics.wait, during which V8 still services the debugger.
 * An attached IDE sees these pauses. Set PIKALA_NO_PROBE=1 to disable the probe.
 */
import { isMainThread, Worker } from 'node:worker_threads';

const OUT = Symbol.for('pikala.probe.out');
const FN = Symbol.for('pikala.probe.fn');
const REQ = Symbol.for('pikala.probe.req');
const CANDIDATES = Symbol.for('pikala.probe.candidates');
const TIMEOUT_MS = 10_000;

const enum State { Idle = 0, Ready = 1, Armed = 2, Disarmed = 3, Disconnected = 4, Failed = 9 }

/** A sharing question: does `candidates[i]` see the probed function's scope `fromEnd` (counted from Global)? */
export interface ShareQuestion {
  /** Index of the scope in the probed function's chain, counted from the end (Global = 0). */
  fromEnd: number;
  /** A variable of that scope to set to the sentinel. */
  variable: string;
  /** For each candidate: the index from the end of the scope to read in its chain. */
  candidateFromEnd: number[];
}

export interface ProbeRequest {
  readThis: boolean;
  readNewTarget: boolean;
  share: ShareQuestion | null;
  /** Identifiers to evaluate in the paused frame (bindings the scope view hides). */
  readNames?: string[];
}

export interface ProbeResult {
  thisValue?: unknown;
  newTarget?: unknown;
  /** For each candidate: true when it saw the sentinel (shares the scope). */
  shares?: boolean[];
  /** The values of `readNames` that the frame resolves (names it cannot resolve are absent). */
  names?: Record<string, unknown>;
}

const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const inspector = require('node:inspector/promises');
const flag = new Int32Array(workerData.sab);
const keepAlive = setInterval(() => {}, 1 << 30); // pending inspector replies do not keep a worker alive
const s = new inspector.Session();
const OUT = "globalThis[Symbol.for('pikala.probe.out')]";
let armed = null;
function signal(v) { Atomics.store(flag, 0, v); Atomics.notify(flag, 0); }
async function evaluate(expression, extra) {
  return s.post('Runtime.evaluate', Object.assign({ expression, silent: true, objectGroup: 'pikala-probe' }, extra || {}));
}
async function scopeEntries(objectId) {
  const props = await s.post('Runtime.getProperties', { objectId, ownProperties: true });
  const scopes = (props.internalProperties || []).find((p) => p.name === '[[Scopes]]');
  if (!scopes) return [];
  const list = await s.post('Runtime.getProperties', { objectId: scopes.value.objectId, ownProperties: true });
  return list.result.filter((p) => /^\d+$/.test(p.name)).sort((a, b) => a.name - b.name).map((p) => p.value);
}
async function variable(scopeObjectId, name) {
  const props = await s.post('Runtime.getProperties', { objectId: scopeObjectId, ownProperties: true });
  const p = props.result.find((x) => x.name === name);
  return p ? p.value : undefined;
}
function asCallArgument(v) {
  if (v.objectId) return { objectId: v.objectId };
  if (v.unserializableValue) return { unserializableValue: v.unserializableValue };
  if (v.type === 'undefined') return {};
  return { value: v.value };
}
async function handle(frames) {
  const req = armed.request;
  const top = frames[0];
  const cf = top.callFrameId;
  if (req.readThis) {
    await s.post('Debugger.evaluateOnCallFrame', { callFrameId: cf, silent: true,
      expression: OUT + '.thisValue = this, 0' });
  }
  if (req.readNewTarget) {
    await s.post('Debugger.evaluateOnCallFrame', { callFrameId: cf, silent: true,
      expression: OUT + '.newTarget = new.target, 0' });
  }
  if (req.readNames) {
    await s.post('Debugger.evaluateOnCallFrame', { callFrameId: cf, silent: true, expression: OUT + '.names = {}, 0' });
    for (const n of req.readNames) {
      if (!/^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u.test(n)) continue;
      await s.post('Debugger.evaluateOnCallFrame', { callFrameId: cf, silent: true,
        expression: 'try { ' + OUT + '.names[' + JSON.stringify(n) + '] = ' + n + ' } catch (e) {} 0' });
    }
  }
  if (req.share) {
    const q = req.share;
    const chain = top.scopeChain;
    const index = chain.length - 1 - q.fromEnd;
    const scope = chain[index];
    if (!scope || !scope.object.objectId) throw new Error('scope not found in the paused frame');
    const original = await variable(scope.object.objectId, q.variable);
    if (original === undefined) throw new Error('variable not found in the paused frame');
    const sentinel = 'pikala-sentinel-' + Math.random().toString(36).slice(2) + Date.now();
    await s.post('Debugger.setVariableValue', { callFrameId: cf, scopeNumber: index, variableName: q.variable,
      newValue: { value: sentinel } });
    const shares = [];
    try {
      for (let i = 0; i < q.candidateFromEnd.length; i++) {
        const ref = await evaluate("globalThis[Symbol.for('pikala.probe.candidates')][" + i + "]");
        const entries = await scopeEntries(ref.result.objectId);
        const entry = entries[entries.length - 1 - q.candidateFromEnd[i]];
        const v = entry && entry.objectId ? await variable(entry.objectId, q.variable) : undefined;
        shares.push(!!v && v.value === sentinel);
      }
    } finally {
      await s.post('Debugger.setVariableValue', { callFrameId: cf, scopeNumber: index, variableName: q.variable,
        newValue: asCallArgument(original) });
    }
    await evaluate(OUT + '.shares = ' + JSON.stringify(shares));
  }
}
s.on('Debugger.paused', async (m) => {
  const frames = m.params.callFrames;
  if (!armed || armed.handled) { await s.post('Debugger.resume').catch(() => {}); return; }
  armed.handled = true;
  try {
    await handle(frames);
  } catch (e) {
    await evaluate(OUT + '.error = ' + JSON.stringify(String(e && e.message || e))).catch(() => {});
  }
  try {
    await s.post('Debugger.restartFrame', { callFrameId: frames[1].callFrameId, mode: 'StepInto' });
  } catch (e) {
    await evaluate(OUT + '.restartFailed = ' + JSON.stringify(String(e && e.message || e))).catch(() => {});
  }
  await s.post('Debugger.resume').catch(() => {});
});
parentPort.on('message', async (msg) => {
  try {
    if (msg === 'connect') {
      s.connectToMainThread();
      await s.post('Debugger.enable');
      signal(1);
    } else if (msg === 'disconnect') {
      s.disconnect();
      signal(4);
    } else if (msg === 'arm') {
      const req = await evaluate("globalThis[Symbol.for('pikala.probe.req')]", { returnByValue: true });
      const fn = await evaluate("globalThis[Symbol.for('pikala.probe.fn')]");
      const bp = await s.post('Debugger.setBreakpointOnFunctionCall', { objectId: fn.result.objectId });
      armed = { request: JSON.parse(req.result.value), breakpointId: bp.breakpointId, handled: false };
      signal(2);
    } else if (msg === 'disarm') {
      if (armed) await s.post('Debugger.removeBreakpoint', { breakpointId: armed.breakpointId }).catch(() => {});
      armed = null;
      await s.post('Runtime.releaseObjectGroup', { objectGroup: 'pikala-probe' }).catch(() => {});
      signal(3);
    }
  } catch (e) {
    signal(9);
  }
});
signal(4);
`;

class Prober {
  private readonly worker: Worker;
  private readonly flag: Int32Array;
  private runs = 0;
  private connected = false;

  constructor() {
    const sab = new SharedArrayBuffer(4);
    this.flag = new Int32Array(sab);
    // No inherited flags: `--input-type=module` would make the eval'd CommonJS source an ES module.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab }, stdout: false, stderr: false, execArgv: [] });
    this.worker.unref();
    this.worker.on('error', () => { Atomics.store(this.flag, 0, State.Failed); });
    if (!this.waitFor(State.Disconnected)) throw new Error('the probe worker did not start');
  }

  /**
   * The worker is attached as a debugger only while a dumps call needs it (released at its end): a process
   * that dies of an uncaught exception while a debugger is attached prints "Waiting for the debugger to
   * disconnect...", and an attached debugger slows the main thread a little.
   */
  private connect(): void {
    if (!this.connected) {
      Atomics.store(this.flag, 0, State.Idle);
      this.worker.postMessage('connect');
      if (!this.waitFor(State.Ready)) throw new Error('the probe worker could not attach to the main thread');
      this.connected = true;
    }
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    Atomics.store(this.flag, 0, State.Idle);
    this.worker.postMessage('disconnect');
    this.waitFor(State.Disconnected);
  }

  private waitFor(state: State): boolean {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const v = Atomics.load(this.flag, 0);
      if (v === state) return true;
      if (v === State.Failed) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.flag, 0, v, Math.min(left, 50));
    }
  }

  /** Pauses `fn` at entry, answers `request`, and makes sure the body did not run. */
  probe(fn: Function, request: ProbeRequest, candidates: Function[]): ProbeResult {
    const g = globalThis as Record<symbol, unknown>;
    const out: Record<string, unknown> = {};
    g[OUT] = out;
    g[FN] = fn;
    g[REQ] = JSON.stringify(request);
    g[CANDIDATES] = candidates;
    try {
      this.connect();
      Atomics.store(this.flag, 0, State.Idle);
      this.worker.postMessage('arm');
      if (!this.waitFor(State.Armed)) throw new Error('the probe worker did not arm');
      this.runs = 0;
      const result = this.caller(fn);
      Atomics.store(this.flag, 0, State.Idle);
      this.worker.postMessage('disarm');
      if (!this.waitFor(State.Disarmed)) throw new Error('the probe worker did not disarm');
      if (result !== RESTARTED) {
        throw new Error(out.restartFailed ? `could not stop the function (${String(out.restartFailed)})` : 'the function was not paused');
      }
      if (typeof out.error === 'string') throw new Error(out.error);
      const r: ProbeResult = {};
      if (request.readThis) r.thisValue = out.thisValue;
      if (request.readNewTarget) r.newTarget = out.newTarget;
      if (request.share) r.shares = out.shares as boolean[];
      if (request.readNames) r.names = (out.names ?? {}) as Record<string, unknown>;
      return r;
    } finally {
      g[OUT] = undefined;
      g[FN] = undefined;
      g[REQ] = undefined;
      g[CANDIDATES] = undefined;
    }
  }

  /**
   * Calls `fn` once; the worker restarts this frame, and the second run returns RESTARTED instead. V8 binds
   * parameters before the entry pause, so the arguments are inert stand-ins: no default initializer runs
   * (no argument is undefined) and destructuring finds more stand-ins (never a getter of the program).
   */
  private caller(fn: Function): unknown {
    this.runs++;
    if (this.runs > 1) return RESTARTED;
    try {
      return fn(...STAND_INS);
    } catch {
      return FAILED;
    }
  }
}

/** An object that satisfies any destructuring pattern without running program code. */
const STAND_IN: object = new Proxy(function () { /* stand-in */ }, {
  get(_t, key) {
    if (key === Symbol.iterator) {
      return function* () { for (let i = 0; i < 64; i++) yield STAND_IN; };
    }
    return STAND_IN;
  },
});
const STAND_INS: unknown[] = new Array(32).fill(STAND_IN);

const RESTARTED = Symbol('restarted');
const FAILED = Symbol('failed');

let prober: Prober | null | undefined;

/** The probe, or null where it cannot work (worker threads, disabled, inspector unavailable). */
export function getProber(): { probe(fn: Function, request: ProbeRequest, candidates: Function[]): ProbeResult } | null {
  if (prober !== undefined) return prober;
  if (!isMainThread || process.env.PIKALA_NO_PROBE === '1') return (prober = null);
  try {
    prober = new Prober();
  } catch {
    prober = null;
  }
  return prober;
}

/** Detaches the probe from the main thread (end of a dumps call). */
export function releaseProber(): void {
  if (prober) prober.disconnect();
}

/** Whether `fn` can be probed: it pauses on call and its frame can be restarted. */
export function isProbeable(kind: string, isAsync: boolean, isGenerator: boolean): boolean {
  return kind !== 'class' && kind !== 'native' && !isAsync && !isGenerator;
}
