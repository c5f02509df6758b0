// Functions compiled from TypeScript (the compiled text is what V8 sees): CommonJS/ES2015 (downlevelled async
// through the __awaiter helper, __importDefault, enums, namespaces) and ESM/ES2022. The sources are compiled
// with the project's typescript devDependency into a temporary folder (issue: functions; DESIGN testing).
import { after } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { cases } from '../harness/batch.mjs';
import { FIXTURES, tempDir } from '../harness/roundtrip.mjs';

const out = tempDir('pikala-ts-');
after(() => out.cleanup());

function compile(name, module, target, ext) {
  return async () => {
    const source = readFileSync(join(FIXTURES, 'functions/ts', `${name}.ts`), 'utf8');
    const r = ts.transpileModule(source, {
      fileName: `${name}.ts`, reportDiagnostics: true,
      compilerOptions: { module, target, esModuleInterop: true, strict: true },
    });
    if (r.diagnostics.length) throw new Error(ts.formatDiagnostics(r.diagnostics, ts.createCompilerHost({})));
    const file = join(out.dir, `${name}.${ext}`);
    writeFileSync(file, r.outputText);
    return file;
  };
}

const table = (variant) => [
  { title: `${variant}: closure factory with typed state`, name: 'counter', check: (v) => [v.inc(), v.inc(), v.get()], expect: [2, 3, 3] },
  { title: `${variant}: two calls of the factory stay independent`, name: 'twoCounters',
    check: (v) => [v.a.inc(), v.b.get()], expect: [1, 0] },
  { title: `${variant}: a closure using an enum`, name: 'usesEnum', check: (f) => f('red'), expect: 'color:red:green' },
  { title: `${variant}: a closure using a namespace`, name: 'usesNamespace', check: (f) => f(3), expect: 18 },
  { title: `${variant}: a closure using a default import of a node: module`, name: 'usesDefaultImport',
    check: (f) => f('x'), expect: 'ts/x' },
  { title: `${variant}: an async function`, name: 'asyncFunction', check: async (f) => [await f(4), f.name], expect: [8, 'asyncFunction'] },
  { title: `${variant}: a generic arrow`, name: 'genericArrow', check: (f) => [f(1), f.name], expect: [[1, 1], 'genericArrow'] },
  { title: `${variant}: optional chaining and nullish coalescing`, name: 'optionalChaining',
    check: (f) => [f({ a: { b: 1 } }), f()], expect: [1, 'none'] },
  { title: `${variant}: default and rest parameters`, name: 'withDefaults',
    check: (f) => [f(1), f(1, 2, 3, 4), f.length], expect: [11, 5, 1] },
  { title: `${variant}: an arrow capturing a method's this`, name: 'thisArrow',
    check: (v) => { v.holder.tag = 'changed'; return v.arrow(); }, expect: 'changed' },
  { title: `${variant}: compiled strict code stays strict`, name: 'strictness', check: (f) => f(), expect: true },
];

cases(compile('closures', ts.ModuleKind.CommonJS, ts.ScriptTarget.ES2015, 'cjs'), {}, table('TS→CommonJS ES2015'));
cases(compile('closures', ts.ModuleKind.ES2022, ts.ScriptTarget.ES2022, 'mjs'), {}, table('TS→ESM ES2022'));
