// Classes extending built-ins (Error, AggregateError, Array, Map, Set, Promise, URL) and a class shipped by
// reference (EventEmitter): Error subclasses keep name, message, stack and cause; `new` on a loaded class runs
// the real constructor; instances of Node's own classes are refused (issue: classes, bullets 1 and 6).
import { cases } from '../harness/batch.mjs';

cases('classes/builtins.mjs', {}, [
  { title: 'an Error subclass keeps name, message, stack, cause and own fields; new runs the real constructor',
    name: 'errorSubclass',
    check: ({ error, stack }) => {
      const C = error.constructor;
      const fresh = new C('not found', 404);
      return [error.name, error.message, error.stack === stack, error.cause instanceof TypeError, error.cause.message,
        error.status, error.retryable, error instanceof Error, error instanceof C, Object.prototype.toString.call(error),
        fresh.name, fresh.status, fresh.retryable, fresh instanceof C, typeof fresh.stack, fresh.stack.split('\n')[0]];
    },
    expect: ['HttpError', 'bad gateway', true, true, 'socket closed', 502, true, true, true, '[object Error]',
      'HttpError', 404, false, true, 'string', 'HttpError: not found'] },
  { title: 'an Error subclass chain with #private state and a name on the prototype', name: 'errorChainPrivate',
    check: ({ error, stack }) => {
      const Db = error.constructor;
      const App = Object.getPrototypeOf(Db);
      return [error.name, error.message, error.code, error.stack === stack, error instanceof App, error instanceof Error,
        Object.hasOwn(error, 'name'), new Db('again').code, `${new Db('x')}`];
    },
    expect: ['AppError', 'connection lost', 'E_DB', true, true, true, false, 'E_DB', 'AppError: x'] },
  { title: 'an AggregateError subclass keeps its errors', name: 'aggregateSubclass',
    check: (e) => [e.name, e.message, e.errors.length, e.errors[0].name, e.errors[0] instanceof Error, e.errors[1] instanceof RangeError,
      e instanceof AggregateError],
    expect: ['Many', '2 failures', 2, 'HttpError', true, true, true] },
  { title: 'an Array subclass: elements, own properties, species and static methods', name: 'arraySubclass',
    check: (s) => {
      const C = s.constructor;
      const doubled = s.map((x) => x * 2);
      return [Array.isArray(s), s.length, [...s], s.peek(), s.label, doubled instanceof C, doubled.peek(), C.from2(7, 8).peek(),
        JSON.stringify(s)];
    },
    expect: [true, 3, [1, 2, 3], 3, 'numbers', true, 6, 8, '[1,2,3]'] },
  { title: 'a Map subclass and a Set subclass with #private state keep their entries and fields', name: 'mapAndSetSubclasses',
    check: ({ map, set }) => [map instanceof Map, map.size, map.get('a'), map.get('zzz'), [...map.keys()][1].k, set instanceof Set,
      [...set], set.adds, set.add('z').adds, map.constructor.name, set.constructor.name, map.misses, [...map.values()]],
    expect: [true, 2, 1, 'none', 1, true, ['x', 'y'], 3, 4, 'DefaultMap', 'CountingSet', 2, [1, 2]] },
  { title: 'a Promise subclass ships and works after load', name: 'promiseClass',
    check: async (C) => {
      const p = C.make();
      p.resolve(5);
      const chained = p.then((x) => x + 1);
      return [p instanceof Promise, p instanceof C, chained instanceof C, await chained, await C.resolve(3), C.name];
    },
    expect: [true, true, true, 6, 3, 'Deferred'] },
  { title: 'an instance of a Promise subclass is a Promise: PIKALA_UNSUPPORTED with its path', name: 'promiseInstance',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.p' } },
  { title: 'a user class extending EventEmitter (by reference): instances with listeners and #private state', name: 'emitterSubclass',
    check: async ({ bus, log, Bus }) => {
      const { EventEmitter } = await import('node:events');
      const delivered = bus.send('again');
      const fresh = new Bus('bus2');
      return [Object.getPrototypeOf(Bus) === EventEmitter, bus instanceof EventEmitter, bus instanceof Bus, delivered, log,
        bus.sent, bus.listenerCount('msg'), fresh.listenerCount('msg'), fresh.name, fresh.send('x'), fresh.sent];
    },
    expect: [true, true, true, true, ['bus1:hello', 'bus1:again'], 2, 1, 0, 'bus2', false, 1] },
  { title: 'an instance of Node\'s own EventEmitter is refused with PIKALA_UNSUPPORTED and its path', name: 'emitterInstance',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.cache.e', message: /EventEmitter/ } },
  { title: 'a user class extending URL: the class and an instance', name: 'urlSubclass',
    check: ({ cls, link }) => [link.href, link.isSecure, link instanceof URL, link instanceof cls, new cls('http://x.org/').isSecure,
      link.searchParams.get('b')],
    expect: ['https://example.org/a?b=1', true, true, true, false, '1'] },
  { title: 'an instance of a constructor that inherits from EventEmitter with util.inherits', name: 'utilInherits',
    check: async (o) => {
      const { EventEmitter } = await import('node:events');
      const got = [];
      o.on('x', (v) => got.push(v));
      o.emit('x', 1);
      return [o.hello(), o instanceof EventEmitter, got];
    },
    expect: ['legacy old', true, [1]] },
  { title: 'an instance of a class with #private fields extending URL (whose constructor needs an argument)', name: 'urlSubclassPrivate',
    check: (o) => [o.href, o.visits(), o instanceof URL], expect: ['https://example.org/p', 2, true] },
  { title: 'instances with #private fields of classes extending Date, RegExp, typed arrays, DataView, URLSearchParams, ' +
    'Number, String and Array keep what their built-in base holds', name: 'privateOnBuiltinBases',
    check: (v) => [
      v.stamp.getTime(), v.stamp.tag(), String(v.pattern), v.pattern.lastIndex, v.pattern.count(),
      [...v.window], v.window.buffer === v.bytes, v.window.byteOffset, v.window.scale(),
      v.view.getUint8(0), v.view.byteLength, v.view.buffer === v.bytes, v.view.label(),
      v.query.get('q'), v.query.owner(), +v.weight, v.weight.unit(), String(v.word), v.word.lang(),
      [...v.list], v.list.length, v.list.extra, v.list.sum(),
    ],
    expect: [86400000, 'epoch+1', '/ab+c/gi', 4, 1, [3, 4, 5], true, 2, 10, 6, 2, true, 'tail',
      'pikala', 'me', 72.5, 'kg', 'hej', 'sv', [1, 2, 3], 3, 'kept', 6] },
  { title: 'an instance with #private fields of a class extending ArrayBuffer is refused at dumps', name: 'privateOnArrayBuffer',
    error: { code: 'PIKALA_UNSUPPORTED', path: 'root.arena', message: /extends ArrayBuffer/ } },
]);
