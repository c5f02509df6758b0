/**
 * The wire between the pool (main thread) and its workers. Messages are flat arrays of primitives and
 * byte arrays: structured clone handles those fastest, and one message carries a whole batch of tasks or
 * results (per-task overhead is what a pool of tiny tasks pays).
 *
 * main → worker, on the worker's port:
 *   [Op.Tasks, code, tasks, drop]
 *     code:  [fid, bytes, fid, bytes, ...]   function payloads this worker has not seen (first use only)
 *     tasks: [id, fid, flags, data, base, ...]   TASK_STRIDE fields per task
 *     drop:  [fid, ...] | null               forget these functions after the tasks before them ran
 *   [Op.Stats, requestId]
 * main → worker, on the control port (read synchronously between tasks, see Slot):
 *   [taskId, ...]   cancelled tasks: skip them if they have not started
 * worker → main:
 *   [Op.Results, results, batch]   results: [id, status, data, ms, ...]   RESULT_STRIDE fields per result;
 *                                  batch: one pikala payload holding every OkBatch result (or null)
 *   [Op.Stats, requestId, stats]
 *   [Op.Fatal, taskId, status, data]   an uncaught exception is about to end the worker
 */
import type { MessagePort } from 'node:worker_threads';
export type { WorkerStats } from './pool.js';

export const enum Op { Tasks = 0, Results = 1, Stats = 2, Fatal = 3 }

export const TASK_STRIDE = 5;
export const RESULT_STRIDE = 4;

/** Task flags. */
export const enum TaskFlag {
  /** `data` is a pikala payload (else a structured-clone array of primitives). */
  Bytes = 1,
  /** A map chunk: `data` holds items, called as fn(item, base + i). Else a call: `data` holds the arguments. */
  Chunk = 2,
  /** The task has a timeout: the worker stamps each item's start time in the slot. */
  Timed = 4,
}

export const enum Status {
  /** data: the result (a chunk: the array of results) as a structured-clone primitive or array of them. */
  OkRaw = 0,
  /** data: a pikala payload of the result. */
  OkBytes = 1,
  /** data: [itemIndex, payload of the thrown value]. */
  Threw = 2,
  /** data: [itemIndex, { name, message, stack, reason }]: the thrown value could not be serialized. */
  ThrewUnserializable = 3,
  /** data: { code, message, path, stack }: the pool's own failure inside the worker (a PikalaError). */
  Failed = 4,
  /** The task was cancelled before it started. */
  Skipped = 5,
  /** data: the index of the result in the message's batch payload. */
  OkBatch = 6,
}

/**
 * The slot: an Int32Array over a SharedArrayBuffer per worker, written by the worker without messages.
 * RUNNING: id of the task the worker is executing (0 = none) — a crash, timeout or abort knows its task.
 * STARTED: when the current item started (ms since the pool's epoch), stamped for timed tasks only.
 * CANCEL: bumped by the main thread after it posts cancelled ids on the control port.
 */
export const enum SlotIndex { Running = 0, Started = 1, Cancel = 2 }
export const SLOT_LENGTH = 4;

export interface WorkerInit {
  slot: SharedArrayBuffer;
  control: MessagePort;
  epoch: number;
  /** The main thread's process.argv: the worker adopts it, so shipped code resolves modules and dynamic
   *  imports from the application's entry folder (pikala's default), not from the worker script's. */
  argv: string[];
}

/** Values structured clone carries exactly (a pikala round trip would give the same value). */
export function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' || t === 'undefined' || t === 'bigint' || v === null;
}

/** An array (dense, plain) whose elements all are primitives: it can travel without pikala. */
export function isPrimitiveArray(a: unknown[]): boolean {
  if (Object.getPrototypeOf(a) !== Array.prototype) return false;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!isPrimitive(v) || (v === undefined && !(i in a))) return false;
  }
  return true;
}
