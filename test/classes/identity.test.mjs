// Class identity (issue: classes, bullet 5; README "Semantics worth knowing"): within one process the same class
// loaded from several payloads is one class object (instanceof holds across payloads, #private brands too);
// in the producing process loads(dumps(C)) === C, except classes with #private members, which get a twin
// there; the first load defines the class and later payloads' static state is deliberately not re-applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cases, consumeSource, produceEach } from '../harness/batch.mjs';

cases('classes/identity.mjs', {}, [
  { title: 'producing process: loads(dumps(C)) === C, also for subclasses, anonymous classes and through instances',
    name: 'producerRoundTrip', check: (v) => v, expect: [true, true, true, 8, true, true, true, true, true] },
  { title: 'producing process: a class with #private members (or a by-value parent with them) loads as a stable twin',
    name: 'producerPrivateTwin', check: (v) => v,
    // Twin !== Guarded; loaded instances belong to the twin; the original's private reads throw on them.
    expect: [false, true, 'Guarded', true, false, 'k1', 'k1', true, false, 'TypeError', 'k3', false, true, true, 'child:k2'] },
  { title: 'an instance sent to another process and back is an instance of the original class again',
    name: 'sentBackToProducer', check: (v) => v, expect: [true, true, true, 'echo'] },
  { title: 'an instance of a class with #private members sent to another process and back belongs to the twin',
    name: 'privateSentBackToProducer', check: (v) => v, expect: [false, true, 't', 'echo'] },
  { title: 'a loaded instance of a class with #private members can be dumped again (and loads as the same class)',
    name: 'redumpLoadedPrivate',
    check: (r, { pikala }) => { r.hop(); const again = pikala.loads(pikala.dumps(r)); return [again.constructor === r.constructor, again.hop()]; },
    expect: [true, 2] },
  { title: 'a loaded instance forwarded to a third process and back: no constructor runs, new still does', name: 'forwardedToThirdProcess',
    check: async ({ echo, payload }, { pikala }) => {
      const { execFileSync } = await import('node:child_process');
      const back = pikala.loads(execFileSync(process.execPath, [echo, process.argv[2]], { input: pikala.dumps(payload) }));
      return [back.seen, back.inst.constructor === payload.inst.constructor, payload.inst.constructor.made];
    },
    expect: [[3, true, 1, 10, 2], true, 1] },
  { title: 'several payloads with the same class give one class object; instanceof holds across payloads',
    name: 'manyPayloads',
    check: (payloads, { pikala }) => {
      const [C, a, [b], { deep: { inst: c } }] = payloads.map((p) => pikala.loads(p));
      const again = pikala.loads(payloads[0]);
      return [again === C, a.constructor === C, b.constructor === C, c.constructor === C, C.check(a) && C.check(b) && C.check(c),
        [a.n, b.n, c.n], pikala.loads(payloads[1]) !== a];
    },
    expect: [true, true, true, true, true, [1, 2, 3], true] },
  { title: 'the first load defines the class: a later payload\'s static and prototype state is not re-applied',
    name: 'firstLoadWins',
    check: ([first, second, instance], { pikala }) => {
      const C = pikala.loads(first);
      const seen = [C.version, [...C.list], 'addedLater' in C, new C().hello(), 'extra' in C.prototype];
      C.version = 'changed in the consumer';
      const C2 = pikala.loads(second);
      const inst = pikala.loads(instance);
      return [seen, C2 === C, C.version, C.list, 'addedLater' in C, inst.constructor === C, inst.hello(), 'extra' in inst, inst.own];
    },
    expect: [[1, ['v1'], false, 'hello v1', false], true, 'changed in the consumer', ['v1'], false, true, 'hello v1', false,
      'instance state'] },
  { title: 'a subclass in a later payload extends the parent loaded from an earlier payload', name: 'parentFromEarlierPayload',
    check: ([parent, child], { pikala }) => {
      const P = pikala.loads(parent);
      const c = pikala.loads(child);
      return [c instanceof P, Object.getPrototypeOf(c.constructor) === P, c.kind()];
    },
    expect: [true, true, 'child of parent'] },
  { title: '#private brands across payloads: the class from one payload reads instances from others', name: 'privateAcrossPayloads',
    check: ([cls, one, two], { pikala }) => {
      const T = pikala.loads(cls);
      const a = pikala.loads(one);
      const { list: [b] } = pikala.loads(two);
      return [T.read(a), T.read(b), a instanceof T, b.constructor === T];
    },
    expect: ['a', 'b', true, true] },
  { title: 'two classes with the same text (two factory calls) in separate payloads stay two classes', name: 'sameTextDifferentClasses',
    check: ([m, s, M], { pikala }) => {
      const meters = pikala.loads(m);
      const seconds = pikala.loads(s);
      const Meters = pikala.loads(M);
      return [meters.show(), seconds.show(), meters.constructor !== seconds.constructor, meters.constructor === Meters];
    },
    expect: ['1 m', '2 s', true, true] },
  { title: 'a class with #private members and its instance dump deterministically', name: 'deterministicClass', deterministic: true,
    check: (v) => [v.inst.m(), v.Stable.count, v.inst instanceof v.Stable], expect: [1, 2, true] },
]);

// Two producer processes (two runs of one program, or two programs) with a class of the same text but different
// captured values: a consumer that loads from both (a long-lived worker) must not mix them up.
test('two producer processes, same class text, different captured values: two classes in one consumer', async () => {
  const [a, b] = await Promise.all(['alpha', 'beta'].map((tag) =>
    produceEach('classes/per-process.mjs', { names: ['tagged'], env: { PIKALA_CLASS_TAG: tag } })));
  assert.ok(a.tagged.ok && b.tagged.ok, 'both producers dumped');
  const { dumps } = await import('../../dist/esm/index.js');
  const result = await consumeSource(dumps([a.tagged.bytes, b.tagged.bytes]), `(payloads, { pikala }) => {
    const [x, y] = payloads.map((p) => pikala.loads(p));
    return [x.tag(), y.tag(), x.constructor === y.constructor];
  }`);
  assert.deepEqual(result, ['alpha', 'beta', false]);
});
