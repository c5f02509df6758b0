/**
 * Signed payloads: dumps(v, { key }) appends an HMAC-SHA256 of header and body; loads(b, { key }) checks it
 * before it reads anything else and fails with PIKALA_SIGNATURE, having run nothing, when it is missing or
 * wrong. A signed payload loaded without a key loads as usual.
 */
import { FLAG, FLAGS_OFFSET, SIGNATURE_LENGTH, injectIntoPrologue, installCodeTraps, readerSpy, tamper } from './support.mjs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PIKALA_CJS, PIKALA_ESM } from '../harness/roundtrip.mjs';
import { dumps, loads } from '../../dist/esm/index.js';

const run = promisify(execFile);
const DIST = new URL('../../dist/esm/', import.meta.url);

const value = { n: 1, s: 'text', list: [1, 2, 3], when: new Date(0), m: new Map([['k', new Set([1])]]) };

function codeOf(fn) {
  try { return fn(); } catch (e) { return e?.code ?? `${e?.name}: ${e?.message}`; }
}

function assertSignatureError(fn, message) {
  assert.throws(fn, (e) => e?.name === 'PikalaError' && e.code === 'PIKALA_SIGNATURE', message);
}

describe('keys', () => {
  test('a string key signs and verifies', () => {
    const bytes = dumps(value, { key: 'secret' });
    assert.ok(bytes[FLAGS_OFFSET] & FLAG.Signed);
    assert.deepEqual(loads(bytes, { key: 'secret' }), value);
  });

  test('a Uint8Array key signs and verifies; a Buffer with the same bytes is the same key', () => {
    const key = new Uint8Array([0, 1, 2, 250, 255]);
    const bytes = dumps(value, { key });
    assert.deepEqual(loads(bytes, { key }), value);
    assert.deepEqual(loads(bytes, { key: Buffer.from(key) }), value);
    assert.deepEqual(loads(bytes, { key: new Uint8Array(new Uint8Array([9, ...key]).buffer, 1) }), value, 'a view with an offset');
  });

  test('a string key means its UTF-8 bytes', () => {
    const bytes = dumps(value, { key: 'clé \u20ac \u{1F511}' });
    assert.deepEqual(loads(bytes, { key: Buffer.from('clé \u20ac \u{1F511}', 'utf8') }), value);
    assertSignatureError(() => loads(bytes, { key: Buffer.from('clé \u20ac \u{1F511}', 'latin1') }));
    assertSignatureError(() => loads(bytes, { key: Buffer.from('clé \u20ac \u{1F511}', 'utf16le') }));
  });

  test('the signature is deterministic and covers exactly header and body', async () => {
    const { createHmac } = await import('node:crypto');
    const a = dumps(value, { key: 'k' });
    assert.deepEqual(a, dumps(value, { key: 'k' }));
    const body = a.subarray(0, a.length - SIGNATURE_LENGTH);
    assert.deepEqual(Buffer.from(a.subarray(a.length - SIGNATURE_LENGTH)), createHmac('sha256', 'k').update(body).digest());
  });

  test('unusable keys fail with PIKALA_SIGNATURE in dumps and in loads', () => {
    const signed = dumps(value, { key: 'k' });
    for (const key of ['', new Uint8Array(0), 42, null, {}, ['k'], new Uint16Array([1])]) {
      assertSignatureError(() => dumps(value, { key }), `dumps with key ${String(key)}`);
      assertSignatureError(() => loads(signed, { key }), `loads with key ${String(key)}`);
    }
  });

  test('a payload in shared memory verifies (loads checks a private copy another thread cannot change)', () => {
    const bytes = dumps(value, { key: 'k' });
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length + 16), 8, bytes.length);
    shared.set(bytes);
    assert.deepEqual(loads(shared, { key: 'k' }), value);
    shared[shared.length - 1] ^= 1;
    assertSignatureError(() => loads(shared, { key: 'k' }));
  });

  test('a signed payload loaded without a key loads as usual (data and code)', () => {
    assert.deepEqual(loads(dumps(value, { key: 'k' })), value);
    const offset = 10;
    const add = (x) => x + offset;
    assert.equal(loads(dumps(add, { key: 'k' }))(1), 11);
    assert.equal(loads(dumps(add, { key: 'k' }), { key: 'k' })(2), 12);
  });
});

describe('what fails with PIKALA_SIGNATURE', () => {
  const signed = dumps(value, { key: 'k' });
  const unsigned = dumps(value);

  test('a wrong key', () => {
    assertSignatureError(() => loads(signed, { key: 'K' }));
    assertSignatureError(() => loads(signed, { key: 'k ' }));
    assertSignatureError(() => loads(signed, { key: new Uint8Array([0x6b, 1]) }));
  });

  test('an unsigned payload loaded with a key', () => {
    assert.throws(() => loads(unsigned, { key: 'k' }), { code: 'PIKALA_SIGNATURE', message: /not signed/ });
  });

  test('a stripped signature (the flag still set, or cleared too)', () => {
    const stripped = signed.subarray(0, signed.length - SIGNATURE_LENGTH);
    assertSignatureError(() => loads(stripped, { key: 'k' }));
    assertSignatureError(() => loads(tamper(stripped, (b) => { b[FLAGS_OFFSET] &= ~FLAG.Signed; }), { key: 'k' }));
    // A tiny signed payload whose trailer is gone is shorter than a trailer: still a signature error.
    const tiny = dumps(1, { key: 'k' });
    assertSignatureError(() => loads(tiny.subarray(0, tiny.length - SIGNATURE_LENGTH), { key: 'k' }));
  });

  test('header flags flipped: signed cleared, has-code set or cleared', () => {
    assertSignatureError(() => loads(tamper(signed, (b) => { b[FLAGS_OFFSET] &= ~FLAG.Signed; }), { key: 'k' }));
    assertSignatureError(() => loads(tamper(signed, (b) => { b[FLAGS_OFFSET] |= FLAG.HasCode; }), { key: 'k' }));
    const code = dumps((x) => x + 1, { key: 'k' });
    assert.ok(code[FLAGS_OFFSET] & FLAG.HasCode);
    assertSignatureError(() => loads(tamper(code, (b) => { b[FLAGS_OFFSET] &= ~FLAG.HasCode; }), { key: 'k' }));
  });

  test('any single bit flipped anywhere (header, body or trailer)', () => {
    for (let i = 0; i < signed.length; i++) {
      for (const bit of [0, 7]) {
        assertSignatureError(() => loads(tamper(signed, (b) => { b[i] ^= 1 << bit; }), { key: 'k' }), `bit ${bit} of byte ${i}`);
      }
    }
  });

  test('every truncation, and bytes appended', () => {
    for (let n = 0; n < signed.length; n++) assertSignatureError(() => loads(signed.subarray(0, n), { key: 'k' }), `prefix of ${n} bytes`);
    assertSignatureError(() => loads(Uint8Array.from([...signed, 0]), { key: 'k' }));
    assertSignatureError(() => loads(Uint8Array.from([...signed, ...signed]), { key: 'k' }));
  });

  test('a signature copied from another payload signed with the same key', () => {
    const other = dumps({ n: 2 }, { key: 'k' });
    const spliced = Uint8Array.from([...signed.subarray(0, signed.length - SIGNATURE_LENGTH), ...other.subarray(other.length - SIGNATURE_LENGTH)]);
    assertSignatureError(() => loads(spliced, { key: 'k' }));
  });
});

describe('verification comes before anything else', () => {
  test('a wrongly signed payload is not read at all: no byte of header or body', async () => {
    const spy = await readerSpy(DIST);
    try {
      const signed = dumps(value, { key: 'k' });
      spy.counter.reads = 0;
      assertSignatureError(() => loads(signed, { key: 'wrong' }));
      assertSignatureError(() => loads(tamper(signed, (b) => { b[b.length - 40] ^= 1; }), { key: 'k' }));
      assert.equal(spy.counter.reads, 0, 'the reader was used before the signature was checked');
      loads(signed, { key: 'k' });
      assert.ok(spy.counter.reads > 0, 'the spy does not see the reader (test is broken)');
    } finally {
      spy.remove();
    }
  });

  test('payloads that fail otherwise (corrupt, version, code refused) fail on the signature first', () => {
    const signed = dumps(value, { key: 'k' });
    const code = dumps(function f() { return 1; }, { key: 'k' });
    const cases = [
      ['truncated body', Uint8Array.from([...signed.subarray(0, 30), ...signed.subarray(signed.length - SIGNATURE_LENGTH)]), {}, 'PIKALA_CORRUPT'],
      ['garbage body', tamper(signed, (b) => { b.fill(0xff, 60, signed.length - SIGNATURE_LENGTH); }), {}, 'PIKALA_CORRUPT'],
      ['newer format major', tamper(signed, (b) => { b[4] = 99; }), {}, 'PIKALA_VERSION'],
      ['wrong magic', tamper(signed, (b) => { b[0] = 0; }), {}, 'PIKALA_CORRUPT'],
      ['unknown header flag', tamper(signed, (b) => { b[FLAGS_OFFSET] |= 0x80; }), {}, 'PIKALA_CORRUPT'],
      ['code with allowCode: false', tamper(code, (b) => { b[b.length - 1] ^= 1; }), { allowCode: false }, 'PIKALA_CODE_REFUSED'],
    ];
    for (const [name, bytes, options, without] of cases) {
      assert.equal(codeOf(() => loads(bytes, options)), without, `${name}: without a key`);
      assert.equal(codeOf(() => loads(bytes, { ...options, key: 'k' })), 'PIKALA_SIGNATURE', `${name}: with the key`);
    }
    // The order the other way round: a good signature, then the data-only refusal.
    assert.equal(codeOf(() => loads(code, { key: 'k', allowCode: false })), 'PIKALA_CODE_REFUSED');
  });

  test('edited shipped code never runs when the signature is wrong (and does run unsigned: the edit is live)', () => {
    const g = globalThis;
    const offset = 7;
    const signed = dumps((x) => x + offset, { key: 'k' });
    const marker = `__pikalaSigningInjected${process.pid}`;
    const edited = injectIntoPrologue(signed, `globalThis.${marker} = (globalThis.${marker} || 0) + 1`);
    const log = { armed: false, calls: [] };
    const traps = installCodeTraps(log);
    try {
      log.armed = true;
      assertSignatureError(() => loads(edited, { key: 'k' }));
      assertSignatureError(() => loads(edited, { key: 'k', allowCode: true }));
      log.armed = false;
      assert.equal(g[marker], undefined, 'the injected code ran');
      assert.deepEqual(log.calls, [], 'something was compiled or loaded');
      // Control: the same bytes without a key are accepted (the signature is not needed) and the edit runs.
      const fn = loads(edited);
      assert.equal(fn(1), 8);
      assert.equal(g[marker], 1, 'the control did not run the injected code: the test proves nothing');
    } finally {
      traps.remove();
      delete g[marker];
    }
  });

  test('a module reference whose package has a load-time side effect: never loaded when the signature is wrong', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pikala-sig-module-'));
    try {
      const pkg = join(dir, 'node_modules', 'pikala-test-sidefx');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'pikala-test-sidefx', version: '1.2.3', main: 'index.js' }));
      // Loading the package writes a marker file: the observable "code ran on the receiver".
      writeFileSync(join(pkg, 'index.js'),
        "require('fs').writeFileSync(require('path').join(__dirname, '..', '..', 'ran-' + process.pid), 'x');\n" +
        "exports.hello = function hello() { return 'hi'; };\n");
      writeFileSync(join(dir, 'produce.cjs'),
        "const { dumps } = require(process.argv[2]);\nconst { hello } = require('pikala-test-sidefx');\n" +
        "require('fs').writeFileSync(process.argv[3], dumps({ hello }, { key: 'k' }));\n");
      const payloadFile = join(dir, 'payload.bin');
      await run(process.execPath, [join(dir, 'produce.cjs'), PIKALA_CJS, payloadFile], { cwd: dir, timeout: 60_000 });
      const markers = () => readdirSync(dir).filter((n) => n.startsWith('ran-'));
      for (const m of markers()) rmSync(join(dir, m)); // the producer's own
      const consume = async (options, file = payloadFile) => {
        const script = `
          import { readFileSync } from 'node:fs';
          const { loads } = await import(process.argv[1]);
          const options = JSON.parse(process.argv[3]);
          try { const v = loads(readFileSync(process.argv[2]), options); console.log(JSON.stringify({ ok: v.hello() })); }
          catch (e) { console.log(JSON.stringify({ code: e.code ?? e.message })); }`;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, PIKALA_ESM, file,
          JSON.stringify({ resolveFrom: dir, ...options })], { cwd: tmpdir(), timeout: 60_000 });
        return JSON.parse(stdout);
      };
      assert.deepEqual(await consume({ key: 'wrong' }), { code: 'PIKALA_SIGNATURE' });
      const edited = join(dir, 'edited.bin');
      writeFileSync(edited, tamper(readFileSync(payloadFile), (b) => { b[b.length - SIGNATURE_LENGTH - 2] ^= 1; }));
      assert.deepEqual(await consume({ key: 'k' }, edited), { code: 'PIKALA_SIGNATURE' });
      assert.deepEqual(markers(), [], 'the package was loaded despite a wrong signature');
      assert.deepEqual(await consume({ allowCode: false }), { code: 'PIKALA_CODE_REFUSED' });
      assert.deepEqual(markers(), [], 'the package was loaded in data-only mode');
      // Control: with the right key the package loads (its side effect is real).
      assert.deepEqual(await consume({ key: 'k' }), { ok: 'hi' });
      assert.equal(markers().length, 1, 'the control did not load the package: the test proves nothing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
