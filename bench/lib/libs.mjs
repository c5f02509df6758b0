/**
 * Library adapters. Each adapter: { name, note, supports(id) → true | reason string, async?, encode(v, p),
 * decode(out, p), size(out) }. Loading is lazy and failure-tolerant: a peer that is not installed (bench's
 * node_modules absent, as in the test suite) is reported as skipped, never as an error.
 *
 * Configurations follow research/js-serializers.md §2.1:
 *   msgpackr     new Packr({ mapsAsObjects: false })          records on (the default of an instance)
 *   msgpackr-SC  new Packr({ structuredClone: true })          records + cycles/shared refs/Map/Set/typed arrays
 *   cbor-x       new Encoder({ mapsAsObjects: false })         records on
 *   cbor-x-SC    new Encoder({ structuredClone: true })
 *   seroval      serialize() → JS source; decode = indirect eval with a unique comment prefix, because V8's eval
 *                cache otherwise makes repeated decodes of one string look ~16× faster than any real decode
 *   devalue      stringify / parse;  superjson  stringify / parse;  JSON  stringify / parse (+ Map/typed-array
 *                conversion where the payload needs one, included in the timing)
 *   pulumi       runtime.serializeFunction (async) → module text; decode = compile + run the module (vm)
 * Text outputs stay JS strings; their size is the UTF-8 byte length.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = join(BENCH_DIR, '..');
/** The pikala build under test: the repository's dist, or another build (--pikala, e.g. a snapshot of a commit). */
export const PIKALA_ENTRY = process.env.PIKALA_BENCH_ENTRY || join(ROOT_DIR, 'dist/esm/index.js');
const benchRequire = createRequire(join(BENCH_DIR, 'package.json'));

/** Libraries in table order. */
export const LIB_NAMES = ['pikala', 'pikala-zc', 'JSON', 'v8', 'msgpackr', 'msgpackr-SC', 'cbor-x', 'cbor-x-SC', 'seroval', 'devalue', 'superjson', 'pulumi'];
export const BUILTIN_LIBS = ['pikala', 'pikala-zc', 'JSON', 'v8'];

const textSize = (s) => Buffer.byteLength(s, 'utf8');
const binSize = (b) => b.byteLength;
const dataOnly = (id) => (id.startsWith('f') ? 'cannot serialize functions' : true);

/** Imports a peer from bench/node_modules; null when it is not installed. */
async function peer(spec) {
  if (process.env.PIKALA_BENCH_NO_PEERS) return null; // lets the tests see the "peers not installed" path
  let resolved;
  try {
    resolved = benchRequire.resolve(spec);
  } catch {
    return null;
  }
  // ESM-capable peers: import by package name from bench/ so their "exports" map picks the ESM build.
  try {
    return await import(pathToFileURL(resolved).href);
  } catch {
    return benchRequire(spec);
  }
}

let evalCounter = 0;

const factories = {
  async pikala() {
    if (!existsSync(PIKALA_ENTRY)) throw new Error(`pikala is not built (${PIKALA_ENTRY}); run npm run build`);
    const { dumps, loads } = await import(pathToFileURL(PIKALA_ENTRY).href);
    return { encode: (v) => dumps(v), decode: (b) => loads(b), size: binSize, supports: () => true, version: rootVersion() };
  },
  // pikala loading with zeroCopy (views over the input, as v8.deserialize makes them): only (d) has binary data.
  async 'pikala-zc'() {
    if (!existsSync(PIKALA_ENTRY)) throw new Error(`pikala is not built (${PIKALA_ENTRY}); run npm run build`);
    const { dumps, loads } = await import(pathToFileURL(PIKALA_ENTRY).href);
    return {
      encode: (v) => dumps(v),
      decode: (b) => loads(b, { zeroCopy: true }),
      size: binSize,
      supports: (id) => (id === 'd' ? true : 'same as pikala: zeroCopy only changes binary data'),
      version: rootVersion(),
    };
  },
  async JSON() {
    return {
      encode: (v, p) => JSON.stringify(p.json ? p.json.to(v) : v),
      decode: (s, p) => (p.json ? p.json.from(JSON.parse(s)) : JSON.parse(s)),
      size: textSize,
      supports: (id) => (id === 'c' ? 'cannot encode cycles' : dataOnly(id)),
      version: 'built-in',
    };
  },
  async v8() {
    return { encode: (v) => v8.serialize(v), decode: (b) => v8.deserialize(b), size: binSize, supports: dataOnly, version: `V8 ${process.versions.v8}` };
  },
  async msgpackr() {
    const m = await peer('msgpackr');
    if (!m) return null;
    const packr = new m.Packr({ mapsAsObjects: false });
    return {
      encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b), size: binSize,
      supports: (id) => (id === 'c' ? 'cannot encode cycles without structuredClone' : dataOnly(id)),
      version: peerVersion('msgpackr'), native: m.isNativeAccelerationEnabled,
    };
  },
  async 'msgpackr-SC'() {
    const m = await peer('msgpackr');
    if (!m) return null;
    const packr = new m.Packr({ structuredClone: true });
    return { encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b), size: binSize, supports: dataOnly, version: peerVersion('msgpackr') };
  },
  async 'cbor-x'() {
    const m = await peer('cbor-x');
    if (!m) return null;
    const enc = new m.Encoder({ mapsAsObjects: false });
    return {
      encode: (v) => enc.encode(v), decode: (b) => enc.decode(b), size: binSize,
      supports: (id) => (id === 'c' ? 'cannot encode cycles without structuredClone' : dataOnly(id)),
      version: peerVersion('cbor-x'), native: m.isNativeAccelerationEnabled,
    };
  },
  async 'cbor-x-SC'() {
    const m = await peer('cbor-x');
    if (!m) return null;
    const enc = new m.Encoder({ structuredClone: true });
    return { encode: (v) => enc.encode(v), decode: (b) => enc.decode(b), size: binSize, supports: dataOnly, version: peerVersion('cbor-x') };
  },
  async seroval() {
    const m = await peer('seroval');
    if (!m) return null;
    const indirectEval = eval;
    return {
      encode: (v) => m.serialize(v),
      decode: (s) => indirectEval(`/*${evalCounter++}*/(${s})`),
      size: textSize, supports: dataOnly, version: peerVersion('seroval'),
    };
  },
  async devalue() {
    const m = await peer('devalue');
    if (!m) return null;
    return { encode: (v) => m.stringify(v), decode: (s) => m.parse(s), size: textSize, supports: dataOnly, version: peerVersion('devalue') };
  },
  async superjson() {
    const m = await peer('superjson');
    if (!m) return null;
    const sj = m.default ?? m;
    return {
      encode: (v) => sj.stringify(v), decode: (s) => sj.parse(s), size: textSize,
      supports: (id) => (id === 'c'
        ? 'skipped: superjson re-emits every shared subtree once per path (exponential output on this graph)'
        : dataOnly(id)),
      version: peerVersion('superjson'),
    };
  },
  async pulumi() {
    let runtime;
    if (process.env.PIKALA_BENCH_NO_PEERS) return null;
    try {
      benchRequire.resolve('@pulumi/pulumi');
    } catch {
      return null;
    }
    runtime = benchRequire('@pulumi/pulumi').runtime;
    return {
      async: true,
      // A single closure is passed as is; a collection (f2, f3) is captured by a one-line wrapper closure,
      // because serializeFunction takes one function.
      encode: async (v, p) => (await runtime.serializeFunction(typeof v === 'function' ? v : () => v)).text,
      decode: (text, p) => {
        const module = { exports: {} };
        const wrapper = vm.runInThisContext(`(function (exports, require, module) {${text}\n})`, { filename: `pulumi-${p.id}.js` });
        wrapper(module.exports, benchRequire, module);
        const handler = module.exports.handler;
        return p.single ? handler : handler();
      },
      size: textSize,
      supports: (id) => (id.startsWith('f') ? true : 'functions only'),
      version: peerVersion('@pulumi/pulumi'),
    };
  },
};

function rootVersion() {
  try {
    return benchRequire(join(ROOT_DIR, 'package.json')).version;
  } catch {
    return '?';
  }
}

export function peerVersion(name) {
  try {
    return benchRequire(`${name}/package.json`).version;
  } catch {
    // packages whose "exports" hide package.json
    try {
      const p = benchRequire.resolve(name);
      let dir = dirname(p);
      while (dir !== dirname(dir)) {
        const f = join(dir, 'package.json');
        if (existsSync(f)) {
          const j = benchRequire(f);
          if (j.name === name) return j.version;
        }
        dir = dirname(dir);
      }
    } catch {}
    return '?';
  }
}

/** Loads the named adapters; returns Map name → adapter | { missing: reason }. */
export async function loadLibs(names) {
  const out = new Map();
  for (const name of names) {
    const f = factories[name];
    if (!f) throw new Error(`unknown library "${name}"; known: ${LIB_NAMES.join(', ')}`);
    try {
      const a = await f();
      out.set(name, a ? { name, ...a } : { name, missing: 'not installed (bench/node_modules absent; run npm ci --prefix bench)' });
    } catch (e) {
      out.set(name, { name, missing: `failed to load: ${e.message}` });
    }
  }
  return out;
}
