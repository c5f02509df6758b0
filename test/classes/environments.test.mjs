// Where classes come from (issue: classes, bullet 1 and "Include"): CommonJS files, worker threads, TypeScript
// compiled to ES2022 (ESM), ES2015 (classes with downlevelled fields) and ES5 (classes turned into functions),
// a vm script (notebook, Script scope), notebook cells that extend each other, and a real Node REPL session.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { cases, childEnv } from '../harness/batch.mjs';
import { consume, FIXTURES, PIKALA_CJS, tempDir } from '../harness/roundtrip.mjs';

// ------------------------------------------------------------------------------------------ CommonJS, worker

const commonjs = (where) => [
  { title: `${where}: a CommonJS class extending EventEmitter with #private state and a static counter`, name: 'queue',
    check: (q) => [q.name, q.size, q.push('b'), q.size, q.constructor.made, q.listenerCount('push')], expect: ['jobs', 1, 2, 2, 1, 0] },
  { title: `${where}: a plain CommonJS class instance`, name: 'plain', check: (p) => [p.twice(), p.constructor.name], expect: [42, 'Plain'] },
];
cases('classes/commonjs.cjs', {}, commonjs('CommonJS'));
cases('classes/commonjs.cjs', { worker: true }, commonjs('CommonJS in a worker thread'));

// ------------------------------------------------------------------------------------------ TypeScript

const out = tempDir('pikala-classes-ts-');
after(() => out.cleanup());

/** Compiles shapes.ts for one target and returns the wrapper fixture; the producer finds the output in its env. */
function compile(module, target, ext) {
  const file = join(out.dir, `shapes-${target}.${ext}`);
  const fixture = async () => {
    const source = readFileSync(join(FIXTURES, 'classes/ts/shapes.ts'), 'utf8');
    const r = ts.transpileModule(source, {
      fileName: 'shapes.ts', reportDiagnostics: true,
      compilerOptions: { module, target, esModuleInterop: true, strict: true, experimentalDecorators: true },
    });
    if (r.diagnostics.length) throw new Error(ts.formatDiagnostics(r.diagnostics, ts.createCompilerHost({})));
    writeFileSync(file, r.outputText);
    return join(FIXTURES, 'classes/ts/cases.mjs');
  };
  return { fixture, env: { PIKALA_TS_SHAPES: file } };
}

const tsTable = (variant, todo = {}) => [
  { title: `${variant}: instances with their classes (parameter properties, private, abstract base, super, statics)`,
    name: 'instances',
    check: ({ circle, square }) => {
      const Circle = circle.constructor;
      const Shape = Object.getPrototypeOf(Circle);
      return [circle.describe(), circle.radius, circle.tags, square.describe(), square.kind, Shape.count, Shape.created(),
        circle instanceof Shape, square instanceof Shape, Circle.unit];
    },
    expect: ['circle:12.6cm', 2, ['round'], 'square:9.0', 'square', 2, 2, true, true, 'cm'] },
  { title: `${variant}: new on a loaded class runs the compiled constructor (and its checks)`, name: 'instances',
    check: ({ circle }) => {
      const Circle = circle.constructor;
      const Shape = Object.getPrototypeOf(Circle);
      const c = new Circle(1);
      let thrown;
      try { new (class extends Shape { area() { return 0; } })(''); } catch (e) { thrown = e.message; }
      return [c.describe(), c.tags, Shape.count, Shape.created(), thrown];
    },
    expect: ['circle:3.1cm', [], 3, 3, 'kind required'] },
  { title: `${variant}: a method replaced by a legacy decorator keeps the decorated version`, name: 'instances',
    check: ({ greeter }) => greeter.greet(), expect: 'HELLO TS' },
  { title: `${variant}: a compiled class extending EventEmitter keeps its listeners`, name: 'emitter',
    check: ({ ticker, seen }) => [ticker.tick(), ticker.ticks, seen], expect: [true, 2, [1, 2]], ...todo.emitter },
  { title: `${variant}: a class with an ES #private field`, name: 'wallet',
    check: (w) => [w.add(5), w.add(1)], expect: [105, 106], ...todo.wallet },
  { title: `${variant}: payloads with the same compiled class give one class in the consumer`, name: 'manyPayloads',
    check: ([cls, one, two], { pikala }) => {
      const C = pikala.loads(cls);
      const a = pikala.loads(one);
      const { list: [b] } = pikala.loads(two);
      return [a instanceof C, a.constructor === C, b instanceof Object.getPrototypeOf(C), b.describe()];
    },
    expect: [true, true, true, 'square:4.0'], ...todo.manyPayloads },
];

const es2022 = compile(ts.ModuleKind.ES2022, ts.ScriptTarget.ES2022, 'mjs');
cases(es2022.fixture, { env: es2022.env }, tsTable('TS→ESM ES2022'));
const es2015 = compile(ts.ModuleKind.CommonJS, ts.ScriptTarget.ES2015, 'cjs');
cases(es2015.fixture, { env: es2015.env }, tsTable('TS→CommonJS ES2015'));
const es5 = compile(ts.ModuleKind.CommonJS, ts.ScriptTarget.ES5, 'cjs');
cases(es5.fixture, { env: es5.env }, tsTable('TS→CommonJS ES5 (classes become functions)', {
  manyPayloads: { todo: 'constructor functions have no identity across payloads: each payload rebuilds Circle, instanceof fails across payloads' },
}));

// ------------------------------------------------------------------------------------------ notebooks

cases('classes/notebook.js', { load: 'vm' }, [
  { title: 'vm script (notebook): a Script-scope class chain with #private state using a Script-scope const', name: 'scriptClass',
    check: (C) => {
      const c = new C('x');
      return [C.kind, Object.getPrototypeOf(C).kind, c.run(), c.runs, C.created, C.name, typeof globalThis.MarkdownCell];
    },
    expect: ['markdown', 'code', 'rendered ran x', 1, 2, 'MarkdownCell', 'undefined'] },
  { title: 'vm script (notebook): an instance of a Script-scope class', name: 'scriptInstance',
    check: (c) => [c.runs, c.run(), c.runs, c.constructor.name], expect: [1, 'rendered ran # title', 2, 'MarkdownCell'] },
]);

cases('classes/notebook-cells.mjs', {}, [
  { title: 'notebook cells: a class extending an earlier cell\'s class, patched by a later cell', name: 'cellsInstance',
    check: (o) => {
      const Base = Object.getPrototypeOf(o.constructor);
      return [o.hello(), o.extra(), o.cell, Base.registry, o.constructor.name, Base.name];
    },
    expect: ['child>base', 'patched in a later cell', 4, ['cell 3'], 'NbChild', 'NbBase'] },
]);

// ------------------------------------------------------------------------------------------ the Node REPL

/** Types `lines` into a real `node -i` session; resolves with its stdout once it exits. */
function replSession(lines, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-i'], { cwd, env: childEnv({ NODE_REPL_HISTORY: '', NODE_NO_READLINE: '1' }) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`REPL timed out:\n${stdout}\n${stderr}`)); }, 60_000);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', () => { clearTimeout(timer); resolve({ stdout, stderr }); });
    child.stdin.end(lines);
  });
}

test('a real Node REPL session: a class chain with #private state, an instance and an anonymous class', async () => {
  const { dir, cleanup } = tempDir('pikala-classes-repl-');
  try {
    const file = join(dir, 'payload.bin');
    const input = readFileSync(join(FIXTURES, 'classes/repl-input.txt'), 'utf8')
      .replaceAll('__PIKALA_CJS__', JSON.stringify(PIKALA_CJS)).replaceAll('__OUT__', JSON.stringify(file));
    const { stdout, stderr } = await replSession(input, dir);
    assert.match(stdout, /REPL-DUMPED/, `the REPL session did not dump:\n${stdout}\n${stderr}`);
    const result = await consume(readFileSync(file), (v) => {
      const made = v.C.made();
      const fresh = new v.C(5, 6);
      return [v.p.tag(), v.p.z, v.p instanceof v.C, made, fresh.tag(), v.C.made(), v.replAnon.name, v.replAnon.hi()];
    });
    assert.deepEqual(result, ['repl:1', 3, true, 1, 'repl:5', 2, 'replAnon', 'anon']);
  } finally {
    cleanup();
  }
});
