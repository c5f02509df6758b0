// The examples run: `npm start`'s main job (quick settings), the REPL session, the TypeScript example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../harness/roundtrip.mjs';

const run = promisify(execFile);
const node = (args, opts = {}) => run(process.execPath, args, { cwd: ROOT, timeout: 120_000, ...opts });

test('examples/main-job.mjs: the picture, the area, both times, the payload sizes', async () => {
  const { stdout } = await node([join(ROOT, 'examples/main-job.mjs'), '--quick']);
  assert.match(stdout, /@@@@@@@@@@/, 'the set is drawn');
  assert.match(stdout, /area, estimated: 1\.\d+/);
  assert.match(stdout, /one thread: +\d+\.\d+ s/);
  assert.match(stdout, /\d+ workers: +\d+\.\d+ s/);
  assert.match(stdout, /same picture both ways: yes/);
  assert.match(stdout, /the closure .*: \d+ bytes, serialized 1× and sent once to each of \d+ workers/);
});

test('examples/repl-session.mjs: functions and a class defined at the prompt run on the pool', async () => {
  const { stdout } = await node([join(ROOT, 'examples/repl-session.mjs')]);
  assert.match(stdout, /\{ owner: 'ada', in30years: 4322, isAccount: true \}/);
  assert.match(stdout, /> opened instanceof Account && opened\.grow\(1\)\n10\.5\n/);
  assert.match(stdout, /\[ true, 'grace is too poor', true \]/);
  assert.doesNotMatch(stdout, /Uncaught/);
});

test('examples/typescript: compiles with the project\'s typescript and runs', async () => {
  await node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'examples/typescript')]);
  const { stdout } = await node([join(ROOT, 'examples/typescript/dist/primes.js')]);
  assert.match(stdout, /primes below 20000000: 1270607 /);
  assert.match(stdout, /timeout: the task ran longer than its timeout of 200 ms/);
});
