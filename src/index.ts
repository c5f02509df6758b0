export { dumps } from './api/dumps.js';
export { loads } from './api/loads.js';
export { PikalaError } from './api/errors.js';
export type { PikalaErrorCode } from './api/errors.js';
export type { DumpOptions, LoadOptions } from './api/options.js';
export { registerByValue, unregisterByValue } from './api/register.js';
export { Pool, type PoolOptions, type TaskOptions, type MapOptions, type PoolStats, type WorkerStats } from './compute/pool.js';
