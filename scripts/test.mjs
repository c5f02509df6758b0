// The one test command (README, .ci/run): builds, prepares test services, runs every suite.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'fixtures' && name !== 'harness') out.push(...collect(p)); }
    else if (/\.test\.(mjs|cjs|js)$/.test(name)) out.push(p);
  }
  return out;
}
const only = process.argv.slice(2);
const files = only.length ? only : collect(join(root, 'test'));
// The parsers' code cache (src/util/code-cache.ts) of this run lives in a directory of its own: a test run
// never writes into the home directory, and every run starts without a cache, as a fresh machine does.
const codeCache = mkdtempSync(join(tmpdir(), 'pikala-test-code-cache-'));
try {
  execFileSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
    stdio: 'inherit', cwd: root, env: { ...process.env, PIKALA_CACHE_DIR: codeCache },
  });
} finally {
  rmSync(codeCache, { recursive: true, force: true });
}
