/**
 * WeakMap and WeakSet travel with the entries whose keys are in the payload (JavaScript cannot enumerate
 * them; the inspector can). Entries keyed by anything else stay behind: they could never be looked up on
 * the receiver.
 */
import './support.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumps, loads } from '../../dist/esm/index.js';
import { consume, produce } from '../harness/roundtrip.mjs';

const FIXTURE = 'data/weak.mjs';

test('a side table keeps the entries of keys in the payload, and only those', async () => {
  const payload = await produce(FIXTURE, 'sideTable');
  assert.ok(payload.length < 10_000, `the outsider's 100 kB value stayed behind (payload ${payload.length} bytes)`);
  const r = await consume(payload, (v) => [
    v.table.get(v.a), v.table.get(v.list[0]).back === v.a, v.seen.has(v.a), v.seen.has(v.list[0]),
    v.table instanceof WeakMap, v.seen instanceof WeakSet,
  ]);
  assert.deepEqual(r, [1, true, true, false, true, true]);
});

test('an entry whose key is reached only through another entry\'s value comes too', async () => {
  const r = await consume(await produce(FIXTURE, 'chained'), (v) => {
    const second = v.chain.get(v.first).next;
    return [second.k, v.chain.get(v.chain.get(second).next)];
  });
  assert.deepEqual(r, [2, 'end']);
});

test('a frozen WeakMap subclass keeps its class, own properties and integrity', async () => {
  const r = await consume(await produce(FIXTURE, 'subclass'), (v) => [
    v.reg.lookup(v.key), v.reg.lookup({}), v.reg.label, Object.isFrozen(v.reg), v.reg instanceof WeakMap,
  ]);
  assert.deepEqual(r, ['found', 'missing', 'registry', true, true]);
});

test('a cache captured by a closure answers for the objects shipped with it', async () => {
  const r = await consume(await produce(FIXTURE, 'closureCache'), (v) => [v.lookup(v.doc), v.lookup({ id: 7 })]);
  assert.deepEqual(r, ['cached result', 'computed']);
});

test('#private fields as TypeScript emits them below ES2022 (WeakMaps beside the class)', async () => {
  const r = await consume(await produce(FIXTURE, 'wallets'), (v) => {
    const before = v.map((w) => w.cents);
    v[0].deposit(5);
    let foreign;
    try { v[0].constructor.prototype.deposit.call({}, 1); } catch (e) { foreign = e.message; }
    return [before, v[0].cents, v[1].cents, foreign];
  });
  assert.deepEqual(r, [[100, 250], 105, 250, 'Cannot read private member from an object whose class did not declare it']);
});

test('payloads that reuse one class find each instance\'s WeakMap-held private state', async () => {
  const r = await consume(await produce(FIXTURE, 'walletPayloads'), (v, { pikala }) => {
    const first = pikala.loads(v.first);
    const second = pikala.loads(v.second);
    return [first.constructor === second.constructor, first.cents, second.cents, second.deposit(40).cents];
  });
  assert.deepEqual(r, [true, 1, 2, 42]);
});

test('data-only loads get a new collection each time', async () => {
  const payload = await produce(FIXTURE, 'sideTable');
  const r = await consume(payload, (v, { pikala }) => {
    const again = pikala.loads(pikala.dumps(v), { allowCode: false });
    return [v.table.get(v.a), again.table !== v.table, again.table.get(again.a)];
  }, { loadOptions: { allowCode: false } });
  assert.deepEqual(r, [1, true, 1]);
});

test('in the process that dumped it, a load adds entries to the original collection', () => {
  const key = { id: 1 };
  const wm = new WeakMap([[key, 'v']]);
  const back = loads(dumps({ wm, key }));
  assert.equal(back.wm, wm);
  assert.notEqual(back.key, key);
  assert.equal(wm.get(back.key), 'v');
  assert.equal(wm.get(key), 'v');
});

test('a built-in key and a symbol key travel like object keys', () => {
  const wm = new WeakMap([[Math, 'math']]);
  const back = loads(dumps({ wm, Math }));
  assert.equal(back.wm.get(Math), 'math');

  const s = Symbol('token');
  const ws = new WeakSet([s]);
  const again = loads(dumps({ ws, s }), { allowCode: false });
  assert.equal(again.ws.has(again.s), true);
});
