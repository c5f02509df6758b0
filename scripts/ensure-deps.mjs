// Runs before `npm start` and `npm test` (npm's pre-scripts): a fresh clone installs its locked dependencies
// here, so the README's two commands are all it needs. An existing install is left alone.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules/.package-lock.json'))) {
  process.stderr.write('pikala: installing the locked dependencies (npm ci) for this fresh clone...\n');
  const npmCli = process.env.npm_execpath;
  const [cmd, args] = npmCli && npmCli.endsWith('.js')
    ? [process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund']]
    : ['npm', ['ci', '--no-audit', '--no-fund']];
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, shell: cmd === 'npm' && process.platform === 'win32' });
}
