// The one test command (README, .ci/run): builds, prepares test services, runs every suite.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
execFileSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root });
