/**
 * The cross-process harness every suite uses: a producer process dumps a fixture's export, a fresh consumer
 * process (by default in an empty temporary folder, where the producer's files do not exist) loads it and
 * runs a check function on it; the check's result comes back to the test.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loads } from '../../dist/esm/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const PIKALA_ESM = join(ROOT, 'dist/esm/index.js');
export const PIKALA_CJS = join(ROOT, 'dist/cjs/index.js');
export const FIXTURES = join(ROOT, 'test/fixtures');

/** A fresh temporary folder; removed by the returned cleanup. */
export function tempDir(prefix = 'pikala-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Dumps `exportName` of `fixture` in a producer process; returns the payload bytes.
 * Options: nodeArgs (producer node flags), dumpOptions, pikala ('esm' | 'cjs'), cwd.
 */
export async function produce(fixture, exportName = 'default', opts = {}) {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'payload.bin');
    const entry = opts.pikala === 'cjs' ? PIKALA_CJS : PIKALA_ESM;
    const args = [...(opts.nodeArgs ?? []), join(here, 'produce.mjs'), entry, resolve(FIXTURES, fixture), exportName, out];
    if (opts.dumpOptions) args.push(JSON.stringify(opts.dumpOptions));
    await run(process.execPath, args, { cwd: opts.cwd ?? ROOT, timeout: opts.timeout ?? 60_000, env: { ...process.env, ...opts.env } });
    return readFileSync(out);
  } finally {
    cleanup();
  }
}

/**
 * Loads `payload` in a fresh consumer process and applies `check` (a function, sent as source text; it must
 * not close over anything) to the loaded value. Resolves to the check's result; rejects with the consumer's
 * error (with `code` and `path` when it was a PikalaError).
 * Options: nodeArgs, loadOptions, dir (run there; default: a fresh empty folder), env.
 */
export async function consume(payload, check, opts = {}) {
  const own = opts.dir ? null : tempDir('pikala-consumer-');
  const dir = opts.dir ?? own.dir;
  try {
    const payloadFile = join(dir, 'payload.bin');
    const checkFile = join(dir, 'check.js');
    const resultFile = join(dir, 'result.bin');
    const script = join(dir, 'consume.mjs');
    writeFileSync(payloadFile, payload);
    writeFileSync(checkFile, typeof check === 'function' ? check.toString() : check);
    copyFileSync(join(here, 'consume.mjs'), script);
    const args = [...(opts.nodeArgs ?? []), script, PIKALA_ESM, payloadFile, checkFile, resultFile];
    if (opts.loadOptions) args.push(JSON.stringify(opts.loadOptions));
    await run(process.execPath, args, { cwd: dir, timeout: opts.timeout ?? 60_000, env: { ...process.env, ...opts.env } });
    const result = loads(readFileSync(resultFile));
    if (!result.ok) {
      const err = new Error(`consumer failed: ${result.error.message}`);
      Object.assign(err, result.error, { message: result.error.message });
      throw err;
    }
    return result.value;
  } finally {
    own?.cleanup();
  }
}

/** produce + consume. */
export async function roundTrip(fixture, exportName, check, opts = {}) {
  const payload = await produce(fixture, exportName, opts.producer ?? {});
  return consume(payload, check, opts.consumer ?? {});
}
