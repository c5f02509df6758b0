// A Node REPL session that ships functions, a class and its instances defined at the prompt to the pool:
// this script types the lines below into a real `node -i` (the REPL's own global scope, where there is no
// file to import from) and prints the transcript.
//
//   npm run build && node examples/repl-session.mjs
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const session = [
  "const { Pool } = require('pikala')",
  'const pool = new Pool({ size: 2 })',
  'let rate = 0.05',
  'class Account { constructor(owner, balance) { this.owner = owner; this.balance = balance } grow(years) { return this.balance * (1 + rate) ** years } }',
  "const accounts = [new Account('ada', 1000), new Account('alan', 2500), new Account('grace', 400)]",
  'const project = (acct) => ({ owner: acct.owner, in30years: Math.round(acct.grow(30)), isAccount: acct instanceof Account })',
  'await pool.map(project, accounts)',
  "const opened = await pool.run((owner) => new Account(owner, 10), 'edsger')",
  'opened instanceof Account && opened.grow(1)',
  "const err = await pool.run((acct) => { if (acct.balance < 500) throw new RangeError(`${acct.owner} is too poor`, { cause: acct }) }, accounts[2]).catch((e) => e)",
  '[err instanceof RangeError, err.message, err.cause instanceof Account]',
  "const wt = require('node:worker_threads')",
  'await pool.map(() => wt.threadId, [1, 2, 3, 4])',
  'const { functionsSerialized, tasksCompleted } = await pool.stats(); ({ functionsSerialized, tasksCompleted })',
  'await pool.close()',
];

const node = spawn(process.execPath, ['-i'], { cwd: root, env: { ...process.env, NODE_NO_READLINE: '1', NODE_DISABLE_COLORS: '1' } });
let out = '';
node.stdout.setEncoding('utf8');
node.stdout.on('data', (d) => { out += d; check(); });
node.stderr.pipe(process.stderr);
let waiting = null;
function check() {
  if (waiting !== null && out.endsWith('> ')) {
    const text = out.slice(0, -2);
    out = '';
    const w = waiting;
    waiting = null;
    w(text);
  }
}
const prompt = () => new Promise((resolve, reject) => {
  waiting = resolve;
  const timer = setTimeout(() => reject(new Error(`no prompt after 60 s; output so far:\n${out}`)), 60_000);
  timer.unref();
  check();
});

await prompt(); // the banner
for (const line of session) {
  const answer = prompt();
  node.stdin.write(`${line}\n`);
  const text = (await answer).replace(/\n$/, '');
  console.log(`> ${line}`);
  if (text !== 'undefined') console.log(text);
}
node.stdin.end();
await new Promise((resolve) => node.on('exit', resolve));
