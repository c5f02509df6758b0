/**
 * The contract between the graph walkers and the per-family codecs.
 *
 * Every object that is not a plain record or a plain array is written as a generic Object record:
 *
 *   Object kind flags [proto] <create payload> [fill]
 *   fill = integrity <content header> nprops (attr key)* <content values> <property values>
 *
 * `create` makes the object from what it cannot exist without (prototype, time value, buffer...). `fill` adds
 * what can come later (elements, entries, properties), so that cycles through any of these work: the object
 * is memoized between the two. A codec implements both halves, for both directions, in its family's file.
 */
import type { Kind } from '../format/tags.js';
import type { Pickler } from '../pickler/pickler.js';
import type { Unpickler } from '../pickler/unpickler.js';

export interface ObjectCodec<T extends object = object> {
  readonly kind: Kind;
  /** Short name used in error messages and paths. */
  readonly name: string;
  /** Records of this kind carry code: refused by loads with allowCode: false. */
  readonly code?: boolean;
  /** The fill may come in several Fill records (scope environments grow while the walk finds functions). */
  readonly multiFill?: boolean;
  /** For a fill written after the root: the path to show in errors (default `root.<name>`). */
  pathOf?(o: T): string;
  /** The prototype such objects have unless told otherwise (in the current realm). */
  defaultProto(o: T | null, u?: Unpickler): object | null;
  /** Objects that must exist before this one can be created, besides the prototype. */
  deps?(o: T): readonly object[];
  /** Writes the create payload (after kind, flags and prototype). */
  writeCreate(p: Pickler, o: T): void;
  /**
   * Writes the fill headers and queues the fill values (scalars may be written in place right after the
   * headers; a caller with values of its own queues them first, so they come after these).
   */
  writeFill(p: Pickler, o: T): void;
  /** Reads the create payload and makes the object with prototype `proto` (undefined: the default). */
  create(u: Unpickler, proto: object | null | undefined): object;
  /** Reads the fill headers and prepares to receive the fill values. */
  readFill(u: Unpickler, o: object): void;
}
