/**
 * Every failure a caller can cause surfaces as a PikalaError with a stable `code`.
 * `path` names the offending value inside the dumped graph (`root.cache.conn`) when there is one.
 */
export type PikalaErrorCode =
  | 'PIKALA_UNSUPPORTED'
  | 'PIKALA_CORRUPT'
  | 'PIKALA_VERSION'
  | 'PIKALA_SIGNATURE'
  | 'PIKALA_CODE_REFUSED'
  | 'PIKALA_MODULE_NOT_FOUND'
  | 'PIKALA_MODULE_VERSION'
  | 'PIKALA_CAPTURE'
  | 'PIKALA_LIMIT'
  // The worker pool (src/compute): a task's worker died (exit, uncaught exception, out of memory); a task
  // ran past its timeout; a task was cancelled by its AbortSignal; the pool was closed.
  | 'PIKALA_WORKER_CRASHED'
  | 'PIKALA_TIMEOUT'
  | 'PIKALA_ABORTED'
  | 'PIKALA_POOL_CLOSED';

export class PikalaError extends Error {
  readonly code: PikalaErrorCode;
  readonly path?: string;

  constructor(code: PikalaErrorCode, message: string, options?: { path?: string; cause?: unknown }) {
    super(options?.path !== undefined ? `${message} (at ${options.path})` : message,
      options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    if (options?.path !== undefined) this.path = options.path;
  }

  override get name(): string {
    return 'PikalaError';
  }
}

export function isPikalaError(e: unknown): e is PikalaError {
  return e instanceof PikalaError;
}

export function corrupt(message: string): PikalaError {
  return new PikalaError('PIKALA_CORRUPT', `not a valid pikala payload: ${message}`);
}
