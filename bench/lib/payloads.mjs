/**
 * The benchmark payloads, built from a seeded PRNG (mulberry32, seed 12345) so every process and every run
 * measures the same values. Sizes follow research/js-serializers.md §2.1; `scale` (the --quick mode uses 0.1)
 * shrinks them proportionally so the same code paths run in a few seconds.
 *
 * Each payload: { id, title, kind: 'data' | 'code', value, refBytes, refNote, json?: {to, from} }.
 * refBytes is a fixed reference size (MB/s are computed against it, so they compare across libraries).
 * json converts a payload to and from a JSON-able form for the JSON baseline (Map → entries, typed array →
 * plain array); JSON's timings include that conversion, as a user's would.
 */

export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 12345;
const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const NON_ASCII = 'éèàçüößøåñλπΩжЖ中文字日本語한국어😀';

function rng(seed = SEED) {
  const r = mulberry32(seed);
  return {
    r,
    int: (n) => Math.floor(r() * n),
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    str(min, max, nonAsciiRate = 0) {
      const len = min + Math.floor(r() * (max - min + 1));
      const alphabet = r() < nonAsciiRate ? NON_ASCII : ASCII;
      const chars = Array.from(alphabet);
      let s = '';
      for (let i = 0; i < len; i++) s += chars[Math.floor(r() * chars.length)];
      return s;
    },
  };
}

const utf8 = (s) => Buffer.byteLength(s, 'utf8');

/** (a) ~1 MB of JSON as an array of small homogeneous records. */
function records(scale) {
  const g = rng(SEED);
  const TAGS = Array.from({ length: 40 }, (_, i) => `tag${i}`);
  const target = Math.round(1_048_576 * scale);
  const out = [];
  let bytes = 2;
  while (bytes < target) {
    const tags = [];
    for (let k = g.int(5); k > 0; k--) tags.push(g.pick(TAGS));
    const rec = {
      id: out.length,
      name: `${g.str(4, 9)} ${g.str(4, 9)}`,
      score: Math.round(g.r() * 1e6) / 100,
      tags,
      active: g.r() < 0.5,
    };
    bytes += utf8(JSON.stringify(rec)) + 1;
    out.push(rec);
  }
  return out;
}

/** (b) a config-like tree: keys from 30 names (30% with a random suffix), depth ≤ 10, many small objects. */
function config(scale) {
  const g = rng(SEED + 1);
  const NAMES = ['name', 'enabled', 'timeout', 'retries', 'host', 'port', 'path', 'level', 'format', 'options',
    'plugins', 'env', 'mode', 'cache', 'limits', 'rules', 'include', 'exclude', 'target', 'output', 'input',
    'version', 'features', 'auth', 'headers', 'region', 'replicas', 'labels', 'selector', 'strategy'];
  const key = () => (g.r() < 0.3 ? `${g.pick(NAMES)}_${g.str(2, 6)}` : g.pick(NAMES));
  const target = Math.round(131_000 * scale);
  let budget = target;
  function leaf() {
    const x = g.r();
    if (x < 0.3) return g.str(3, 16);
    if (x < 0.5) return g.int(100000);
    if (x < 0.6) return Math.round(g.r() * 1e4) / 100;
    if (x < 0.75) return g.r() < 0.5;
    if (x < 0.8) return null;
    const arr = [];
    for (let k = 1 + g.int(4); k > 0; k--) arr.push(g.r() < 0.5 ? g.str(2, 8) : g.int(1000));
    return arr;
  }
  function obj(depth) {
    const o = {};
    const n = 2 + g.int(6);
    for (let i = 0; i < n && budget > 0; i++) {
      const k = key();
      const v = depth < 10 && g.r() < 0.35 - depth * 0.02 ? obj(depth + 1) : leaf();
      o[k] = v;
      budget -= utf8(k) + (typeof v === 'object' && v !== null && !Array.isArray(v) ? 6 : utf8(JSON.stringify(v)) + 4);
    }
    return o;
  }
  const root = {};
  let i = 0;
  while (budget > 0) root[`section${i++}`] = obj(1);
  return root;
}

/**
 * (c) 5,000-node graph: clusters of 8 nodes (peer ring and parent ↔ members cycles), 16 shared meta objects,
 * links to earlier clusters, and a root self-cycle. Depth stays bounded so recursive libraries survive.
 */
function graph(scale) {
  const g = rng(SEED + 2);
  const N = Math.max(64, Math.round(5000 * scale));
  const metas = Array.from({ length: 16 }, (_, i) => ({ kind: `meta${i}`, weight: g.int(100), flags: [g.r() < 0.5, g.r() < 0.5] }));
  const nodes = [];
  for (let c = 0; c * 8 < N; c++) {
    const cluster = [];
    for (let j = 0; j < 8 && nodes.length < N; j++) {
      const node = { id: nodes.length, label: g.str(3, 10), value: g.int(1e6), meta: metas[g.int(16)], peers: [], parent: null, links: [] };
      cluster.push(node);
      nodes.push(node);
    }
    const head = cluster[0];
    head.members = cluster.slice(1);
    for (let j = 0; j < cluster.length; j++) {
      const n = cluster[j];
      if (j > 0) n.parent = head;
      n.peers.push(cluster[(j + 1) % cluster.length]);
      if (c > 0 && g.r() < 0.5) n.links.push(nodes[g.int(c * 8)]);
    }
  }
  const root = { name: 'graph', metas, nodes };
  root.self = root;
  return root;
}

/** (d) Float64Array of 1e6 random doubles (8 MB); 1e6 rather than 2^20 because seroval refuses more. */
function floats(scale) {
  const g = rng(SEED + 3);
  const f = new Float64Array(Math.round(1e6 * scale));
  for (let i = 0; i < f.length; i++) f[i] = (g.r() - 0.5) * 1e6;
  return f;
}

/** (e) a Map of 20,000 short string → string entries plus 50,000 short strings; 10% non-ASCII. */
function strings(scale) {
  const g = rng(SEED + 4);
  const map = new Map();
  const nm = Math.round(20000 * scale);
  while (map.size < nm) map.set(g.str(4, 12, 0.1), g.str(3, 16, 0.1));
  const list = [];
  for (let i = Math.round(50000 * scale); i > 0; i--) list.push(g.str(2, 12, 0.1));
  return { map, list };
}

/** Plain-data payloads, in table order. */
export function dataPayloads(scale = 1) {
  const a = records(scale);
  const b = config(scale);
  const c = graph(scale);
  const d = floats(scale);
  const e = strings(scale);
  const eJson = { to: (v) => ({ map: [...v.map], list: v.list }), from: (j) => ({ map: new Map(j.map), list: j.list }) };
  return [
    { id: 'a', title: '1 MB of small records', kind: 'data', value: a, refBytes: utf8(JSON.stringify(a)), refNote: 'JSON bytes' },
    { id: 'b', title: 'nested config', kind: 'data', value: b, refBytes: utf8(JSON.stringify(b)), refNote: 'JSON bytes' },
    { id: 'c', title: `graph ${c.nodes.length} nodes, cycles + shared refs`, kind: 'data', value: c, refBytes: null, refNote: 'v8 bytes' },
    {
      id: 'd', title: `Float64Array ${d.length} doubles`, kind: 'data', value: d, refBytes: d.byteLength, refNote: 'raw bytes',
      json: { to: (v) => Array.from(v), from: (j) => Float64Array.from(j) },
    },
    { id: 'e', title: 'Map of short strings + string list', kind: 'data', value: e, refBytes: utf8(JSON.stringify(eJson.to(e))), refNote: 'JSON bytes', json: eJson },
  ];
}

export const DATA_IDS = ['a', 'b', 'c', 'd', 'e'];
export const CODE_IDS = ['f1', 'f2', 'f3'];
export const ALL_IDS = [...DATA_IDS, ...CODE_IDS];
