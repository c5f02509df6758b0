/**
 * The loader side of code: reads the payload's code prologue, compiles each generated unit once per
 * process (cached by its source text, so loading the same function again compiles nothing), and gives the
 * Function and Scope codecs what they make functions and environments from.
 *
 * Compilation uses vm.Script in the current realm: it works under --disallow-code-generation-from-strings
 * (which blocks eval and new Function, not vm), and stack traces name the unit (`pikala:code/1a2b3c`).
 */
import vm from 'node:vm';
import { join } from 'node:path';
import { resolutionFolder } from './modules.js';
import { corrupt } from '../api/errors.js';
import { Tag } from '../format/tags.js';
import type { ByteReader } from '../format/byte-reader.js';
import type { ByteWriter } from '../format/byte-writer.js';
import type { Unpickler } from '../pickler/unpickler.js';
import type { GeneratedCode } from './codegen.js';
import { modeByte } from '../codecs/functions.js';

export interface MakerEntry {
  unit: number;
  key: string;
  mode: number;
  passArguments: boolean;
}

/** Compiled units by resolution folder (import() in the code resolves from there), then by source text. */
const compiledIn = new Map<string, Map<string, Function>>();
const COMPILE_CACHE_LIMIT = 2048;
let compileCount = 0;

/** How many units this process compiled (a test hook: a cached load must not compile). */
export function compiledUnitCount(): number {
  return compileCount;
}

function compileUnit(source: string, folder: string): Function {
  let compiled = compiledIn.get(folder);
  if (compiled === undefined) compiledIn.set(folder, compiled = new Map());
  let factory = compiled.get(source);
  if (factory !== undefined) {
    // Refresh recency.
    compiled.delete(source);
    compiled.set(source, factory);
    return factory;
  }
  let value: unknown;
  try {
    value = new vm.Script(source, scriptOptions(source, folder)).runInThisContext();
  } catch (e) {
    throw corrupt(`shipped code does not compile on this runtime: ${(e as Error).message}`);
  }
  if (typeof value !== 'function') throw corrupt('shipped code is not a layout factory');
  factory = value;
  compileCount++;
  if (compiled.size >= COMPILE_CACHE_LIMIT) compiled.delete(compiled.keys().next().value!);
  compiled.set(source, factory);
  return factory;
}

/**
 * Shipped code may call import(): Node resolves it with its default loader relative to the script's file
 * name, so units are named after a (non-existent) file in the folder the receiving application resolves
 * modules from (`resolveFrom`, else its entry script's folder). The first dynamic import prints Node's
 * ExperimentalWarning for this vm feature.
 */
function scriptOptions(source: string, folder: string): vm.ScriptOptions {
  const loader = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const name = `pikala-code-${shortHash(source)}.js`;
  if (loader === undefined) return { filename: `pikala:code/${name}` };
  return { filename: join(folder, name), importModuleDynamically: loader as never };
}

export class LoadedCode {
  readonly units: Function[];
  readonly slots: Map<number, [number, string]>;
  readonly makers: MakerEntry[];
  private readonly loose = new Map<number, Record<string, Function>>();

  constructor(units: Function[], slots: Map<number, [number, string]>, makers: MakerEntry[]) {
    this.units = units;
    this.slots = slots;
    this.makers = makers;
  }

  rootFactory(unit: number): Function {
    const f = this.units[unit];
    if (f === undefined) throw corrupt(`unknown code unit ${unit}`);
    return f;
  }

  /** Makers of the unit of functions that capture nothing (one environment per load). */
  looseMakers(unit: number): Record<string, Function> {
    let f = this.loose.get(unit);
    if (f === undefined) {
      const env = this.rootFactory(unit)() as { f?: Record<string, Function> };
      if (env === null || typeof env !== 'object' || typeof env.f !== 'object' || env.f === null) throw corrupt('bad code unit');
      f = env.f;
      this.loose.set(unit, f);
    }
    return f;
  }
}

export function codeOf(u: Unpickler): LoadedCode {
  if (!(u.code instanceof LoadedCode)) throw corrupt('a function record without a code prologue');
  return u.code;
}

function readRawString(r: ByteReader): string {
  const tag = r.u8();
  if (tag >= Tag.StrLatin1Short && tag < Tag.StrRefShort) return r.latin1(tag - (Tag.StrLatin1Short - 1));
  switch (tag) {
    case Tag.StrEmpty: return '';
    case Tag.StrLatin1: return r.latin1(r.varint());
    case Tag.StrUtf8: return r.utf8(r.varint());
    case Tag.StrUtf16: return r.utf16(r.varint());
    default: throw corrupt('expected a string in the code prologue');
  }
}

function writeRawString(w: ByteWriter, s: string): void {
  if (s.length === 0) w.u8(Tag.StrEmpty);
  else w.string(s);
}

/** Reads the prologue (the Code tag itself was consumed) and compiles its units. */
export function readPrologue(u: Unpickler): void {
  const r = u.r;
  const start = r.pos - 1;
  const nUnits = r.count(2);
  const units: Function[] = [];
  const folder = resolutionFolder((u.options as { resolveFrom?: string } | undefined)?.resolveFrom);
  for (let i = 0; i < nUnits; i++) units.push(compileUnit(readRawString(r), folder));
  const nSlots = r.count(2);
  const slots = new Map<number, [number, string]>();
  for (let id = 1; id <= nSlots; id++) {
    const unit = r.varint();
    const key = readRawString(r);
    if (unit >= nUnits) throw corrupt('layout slot names an unknown unit');
    slots.set(id, [unit, key]);
  }
  const nMakers = r.count(4);
  const makers: MakerEntry[] = [];
  for (let i = 0; i < nMakers; i++) {
    const unit = r.varint();
    const key = readRawString(r);
    const mode = r.u8();
    const passArguments = r.u8();
    if (unit >= nUnits || mode > 7 || passArguments > 1) throw corrupt('bad maker entry');
    makers.push({ unit, key, mode, passArguments: passArguments === 1 });
  }
  // Padding keeps the body's 8-byte alignment (binary data is aligned relative to the payload start).
  while ((r.pos - start) % 8 !== 0) {
    if (r.u8() !== 0) throw corrupt('bad padding after the code prologue');
  }
  u.code = new LoadedCode(units, slots, makers);
}

/** Writes the prologue for the generated code (after the Code tag). */
export function writePrologue(w: ByteWriter, code: GeneratedCode, layoutCount: number,
  makerModes: { mode: string; passArguments: boolean }[]): void {
  w.u8(Tag.Code);
  w.varint(code.units.length);
  for (const unit of code.units) writeRawString(w, unit.source);
  w.varint(layoutCount);
  for (let id = 1; id <= layoutCount; id++) {
    const [unit, key] = code.slots.get(id)!;
    w.varint(unit);
    writeRawString(w, key);
  }
  w.varint(code.makers.length);
  for (let i = 0; i < code.makers.length; i++) {
    const [unit, key] = code.makers[i]!;
    w.varint(unit);
    writeRawString(w, key);
    w.u8(modeByte(makerModes[i]!.mode));
    w.u8(makerModes[i]!.passArguments ? 1 : 0);
  }
  w.align(8);
}

function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
