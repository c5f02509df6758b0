/**
 * Repeated key lists ("shapes") are written once per payload and referenced by number afterwards, like
 * V8's hidden classes or msgpackr's records.
 *
 * Shapes are found in one open-addressing hash table keyed by a hash of the key list (format/string-table's
 * string hash of each key, combined), then confirmed by comparing the keys (property names are internalized
 * strings: comparing them is comparing pointers). A key-transition tree of Maps costs a Map lookup per key,
 * each touching scattered memory: 5× more on a payload of one-off shapes.
 *
 * The table lives as long as the process, so dumps of similar data find every shape already there (no
 * allocation per record). It is bounded: past MAX_SHAPES it is emptied at the start of the next dump.
 * Per-dump state (shape ids, verified reference objects) is valid only in its dump: ids carry the dump's
 * epoch, and reference objects are cleared when the dump ends, so the table never keeps user data alive.
 */
import { stringHash } from '../format/string-table.js';
import { isArrayIndex } from '../util/primordials.js';
import { keepAlive } from '../util/keep-alive.js';

const MAX_SHAPES = 1 << 15;
const INITIAL_CAPACITY = 256;

export class ShapeNode {
  /** The shape's id in the payload of dump `idEpoch`. */
  id = 0;
  idEpoch = 0;
  /** A verified object of the current dump with exactly this shape and plain attributes (map comparison). */
  ref: object | null = null;
  /** True when a key is an array index: then map identity does not prove the key list. */
  readonly hasIndexKeys: boolean;

  constructor(readonly keys: string[], readonly hash: number) {
    let index = false;
    for (let i = 0; i < keys.length; i++) if (isArrayIndex(keys[i]!)) { index = true; break; }
    this.hasIndexKeys = index;
  }
}

/** Hash of a key list: the string hash of each key, combined in order. */
function keysHash(keys: readonly string[]): number {
  const n = keys.length;
  let h = Math.imul(n, 0x9e3779b1);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    h = Math.imul(h ^ (k.length === 0 ? 0x5bd1e995 : stringHash(k)), 0x85ebca6b);
    h ^= h >>> 16;
  }
  return h;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  const n = a.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ShapeTable {
  private hashes = new Int32Array(INITIAL_CAPACITY);
  private nodes: (ShapeNode | undefined)[] = new Array(INITIAL_CAPACITY).fill(undefined);
  private mask = INITIAL_CAPACITY - 1;
  private count = 0;
  private nextId = 1;
  private epoch = 0;
  /** Nodes given a reference object in this dump (cleared by release). */
  private readonly withRef: ShapeNode[] = [];
  private busy = false;
  private static shared = new ShapeTable();

  /** The process's table (or a private one for a dump nested in another), ready for a new dump. */
  static take(): ShapeTable {
    let t = ShapeTable.shared;
    if (t.busy) t = new ShapeTable();
    t.busy = true;
    t.epoch = (t.epoch + 1) | 0;
    // A full table starts again; so does one whose epochs wrapped (an old node's id could look current).
    if (t.count > MAX_SHAPES || t.epoch === 0) { t.clear(INITIAL_CAPACITY); t.epoch = 1; }
    t.nextId = 1;
    return t;
  }

  release(): void {
    const nodes = this.withRef;
    for (let i = 0; i < nodes.length; i++) nodes[i]!.ref = null;
    nodes.length = 0;
    this.busy = false;
  }

  private clear(capacity: number): void {
    this.hashes = new Int32Array(capacity);
    this.nodes = new Array(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.count = 0;
  }

  /** The shape of `keys` (the caller's array: the table keeps it when the shape is new). */
  lookup(keys: string[]): ShapeNode {
    const h = keysHash(keys);
    const hashes = this.hashes, nodes = this.nodes, mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const node = nodes[i];
      if (node === undefined) break;
      if (hashes[i] === h && sameKeys(node.keys, keys)) return node;
    }
    const node = new ShapeNode(keys, h);
    this.insert(node);
    return node;
  }

  private insert(node: ShapeNode): void {
    if (2 * (this.count + 1) > this.nodes.length) this.grow();
    const hashes = this.hashes, nodes = this.nodes, mask = this.mask;
    let i = node.hash & mask;
    while (nodes[i] !== undefined) i = (i + 1) & mask;
    nodes[i] = node;
    hashes[i] = node.hash;
    this.count++;
  }

  private grow(): void {
    const old = this.nodes;
    this.clear(old.length * 2);
    for (let i = 0; i < old.length; i++) {
      const node = old[i];
      if (node !== undefined) this.insert(node);
    }
  }

  /** The shape's id in this dump, 0 if it has none yet. */
  idOf(node: ShapeNode): number {
    return node.idEpoch === this.epoch ? node.id : 0;
  }

  /** Assigns the next payload id; callers write the shape's definition when this returns a fresh id. */
  assign(node: ShapeNode): number {
    node.idEpoch = this.epoch;
    node.id = this.nextId++;
    return node.id;
  }

  setRef(node: ShapeNode, o: object): void {
    if (node.ref === null) this.withRef[this.withRef.length] = node;
    node.ref = o;
  }
}

keepAlive(new ShapeTable().lookup(['keep', 'alive']));
