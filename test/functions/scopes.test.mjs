// Captured variables of every scope kind, with their values at dump time, through the object memo
// (issue: functions, bullets 1-2 and "Also").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cases, produceEach } from '../harness/batch.mjs';
import { ROOT } from '../harness/roundtrip.mjs';

cases('functions/scopes.mjs', {}, [
  { title: 'closure scope: parameters and locals of the factory', name: 'closureScope',
    check: (f) => f(1), expect: 16 },
  { title: 'block scope', name: 'blockScope', check: (f) => f(), expect: 'blk3' },
  { title: 'catch scope: the caught error', name: 'catchScope', check: (f) => f(), expect: ['boom', true] },
  { title: 'ES module scope, with the value at dump time', name: 'moduleScope', check: (f) => f(), expect: 'mc2' },
  { title: 'a variable reassigned after the closure was made ships its dump-time value', name: 'valueAtDumpTime',
    check: (f) => f(), expect: 'after' },
  { title: 'three nested function scopes', name: 'nestedScopes', check: (f) => [f(3), f.name], expect: [[1, 2, 3], 'inner'] },
  { title: 'object memo: a captured object that is also in the graph is one object after load', name: 'objectMemo',
    check: (v) => [v.fn() === v.data, v.list[0] === v.data, v.fn().tag], expect: [true, true, 'shared'] },
  { title: 'transitive capture: helpers the function calls and what they capture', name: 'transitive',
    check: (f) => f(2), expect: 37 },
  { title: 'Maps and Sets captured by closures stay live and shared with the graph', name: 'mapsAndSets',
    check: (v) => [v.read(), v.add('z', 1), v.map.get('z'), v.map.size],
    expect: [[1, true, true], [3, 3], 1, 3] },
  { title: 'typed arrays captured by closures (a view sharing the buffer stays shared)', name: 'typedArrays',
    check: (v) => [v.read(), v.floats.length], expect: [[4, 4, true], 2] },
  { title: 'cycle: obj.fn captures obj', name: 'cycle',
    check: (o) => [o.fn() === o, o.fn().name], expect: [true, 'cyc'] },
  { title: 'a closure reached twice in the graph is one function after load', name: 'capturedTwice',
    check: (v) => [v.a === v.b, v.list[0] === v.a, v.viaClosure() === v.a, v.a(1)], expect: [true, true, true, 2] },
  { title: 'determinism: dumping the same closures twice gives identical bytes', name: 'mapsAndSets', deterministic: true },
  { title: 'determinism with nested scopes, memo and cycles', name: 'cycle', deterministic: true },
  { title: 'parameter scope with destructuring defaults and rest', name: 'parameterScope',
    check: (f) => f(), expect: [1, 2, [3, 4]] },
  { title: 'user globals (not built-ins) ship by value', name: 'userGlobal', check: (f) => f(), expect: 'user global' },
  { title: 'captured symbols, bigints, -0, NaN, undefined and null', name: 'primitives',
    check: (f) => { const r = f(); return [r[0], r[1], r[2], Object.is(r[3], -0), Number.isNaN(r[4]), r[5], r[6]]; },
    expect: ['symbol', 'local', 12345678901234567890n, true, true, undefined, null] },
]);

cases('functions/direct-eval.mjs', {}, [
  { title: 'direct eval sees the variables of every enclosing scope', name: 'directEval',
    check: (f) => f(), expect: ['seen through eval', 'param', 'module'] },
]);

cases('functions/script-scope.js', { load: 'vm' }, [
  { title: 'vm.runInThisContext: top-level function declaration with Script-scope lets', name: 'topLevelFunction',
    check: (f) => [f(1), f.name], expect: [43, 'topLevelFunction'] },
  { title: 'vm.runInThisContext: arrow using a script let, a global var and a top-level function', name: 'topLevelArrow',
    check: (f) => f(), expect: [40, 'v', 42] },
  { title: 'vm.runInThisContext: Script-scope state shared by two closures', name: 'scriptCounter',
    check: (v) => [v.inc(), v.inc(), v.get()], expect: [1, 2, 2] },
  { title: 'vm.runInThisContext: an arrow capturing the script\'s this (the global object)', name: 'scriptThis',
    check: (f) => f(), expect: true },
]);

cases('functions/scopes.cjs', {}, [
  { title: 'a function using with fails with PIKALA_UNSUPPORTED naming its path', name: 'withStatement',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.fn', message: /with/ } },
  { title: 'a closure made inside a with block fails clearly (its scope is the with object)', name: 'closureInWith',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.fn', message: /with/ } },
  { title: 'a suspended generator object fails with PIKALA_UNSUPPORTED naming its path', name: 'suspendedGenerator',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.gen', message: /generator/ } },
]);

cases('functions/errors.mjs', {}, [
  { title: 'a captured Promise fails with PIKALA_UNSUPPORTED naming the function and the variable', name: 'capturedPromise',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.fn.<closure>.pending', message: /Promise/ } },
  { title: 'a captured suspended generator fails naming the function and the variable', name: 'capturedSuspendedGenerator',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.fn.<closure>.gen', message: /generator/ } },
  { title: 'a captured WeakRef fails naming the function and the variable', name: 'capturedWeakRef',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.deep.list[0].<closure>.weak' } },
]);

test('determinism across processes: two producers dump identical bytes, without absolute paths', async () => {
  const names = ['closureScope', 'mapsAndSets', 'cycle', 'transitive', 'nestedScopes']; // (a caught error's stack would hold a path)
  const [a, b] = await Promise.all([produceEach('functions/scopes.mjs', { names }), produceEach('functions/scopes.mjs', { names })]);
  for (const name of names) {
    assert.ok(a[name].ok && b[name].ok, `${name} did not dump`);
    const x = Buffer.from(a[name].bytes);
    assert.ok(x.equals(Buffer.from(b[name].bytes)), `${name}: two processes gave different bytes`);
    assert.equal(x.toString('latin1').includes(ROOT), false, `${name}: the payload holds the producer's path`);
  }
});
