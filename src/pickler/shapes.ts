/**
 * Repeated key lists ("shapes") are written once per payload and referenced by number afterwards, like
 * V8's hidden classes or msgpackr's records. Lookup walks a key-transition tree: one Map step per key.
 */
import { keepAlive } from '../util/keep-alive.js';
export class ShapeNode {
  /** Children by next key. */
  next: Map<string, ShapeNode> | null = null;
  /** The shape's id in the current payload; 0 until first written. */
  id = 0;
  /** A verified object with exactly this shape and plain attributes, for O(1) map comparison. */
  ref: object | null = null;
  readonly keys: readonly string[];
  /** True when a key is an array index: then map identity does not prove the key list. */
  readonly hasIndexKeys: boolean;

  constructor(keys: readonly string[], hasIndexKeys: boolean) {
    this.keys = keys;
    this.hasIndexKeys = hasIndexKeys;
  }
}

const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

export class ShapeTree {
  private readonly root = new ShapeNode([], false);
  private nextId = 1;

  lookup(keys: readonly string[]): ShapeNode {
    let node = this.root;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      let next = node.next;
      if (next === null) node.next = next = new Map();
      let child = next.get(k);
      if (child === undefined) {
        const childKeys = keys.slice(0, i + 1);
        child = new ShapeNode(childKeys, node.hasIndexKeys || (INDEX_KEY.test(k) && +k < 4294967295));
        next.set(k, child);
      }
      node = child;
    }
    return node;
  }

  /** Assigns the next payload id; callers write the shape's definition when this returns a fresh id. */
  assign(node: ShapeNode): number {
    node.id = this.nextId++;
    return node.id;
  }
}

keepAlive(new ShapeTree().lookup(['keep', 'alive']));
