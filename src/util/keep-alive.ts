/**
 * Holds one instance of each class pikala creates per call.
 *
 * V8's optimised code depends on the hidden classes (maps) of the objects it handles, and holds those maps
 * weakly: when the last instance of a per-call class (Pickler, ByteWriter, FillState...) dies, a major GC
 * frees its final map and throws away all optimised code that embedded it ("weak objects" deopt), so the
 * next calls run cold again. One live instance per class keeps the maps, and the optimised code, alive.
 */
const kept: unknown[] = [];

export function keepAlive(instance: unknown): void {
  kept.push(instance);
}
