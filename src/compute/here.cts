/**
 * Where this build of the pool lives, for finding its worker script.
 *
 * The same TypeScript compiles to an ES module tree (dist/esm) and a CommonJS tree (dist/cjs), so the pool
 * cannot use `import.meta.url` (a syntax error in CommonJS output) nor `__filename` (undefined in an ES
 * module). This one file is `.cts`: TypeScript emits it as CommonJS (`here.cjs`) in both trees, where
 * `__filename` is always defined, and both flavours of pool.js can import it (an ES module imports
 * CommonJS named exports). No stack-trace parsing, no guessing from the working directory, and each build
 * starts its own worker (dist/esm/compute/worker.js runs as ESM, dist/cjs/compute/worker.js as CommonJS).
 */
export const computeDir: string = __dirname;
