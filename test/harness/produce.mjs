// Producer process: imports a fixture module, dumps the chosen export, writes the payload to a file.
// Usage: node produce.mjs <pikala entry> <fixture module> <export name> <out file> [options json]
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [pikalaEntry, fixture, exportName, outFile, optionsJson] = process.argv.slice(2);
const pikala = pikalaEntry.endsWith('.cjs') || pikalaEntry.includes('/cjs/')
  ? createRequire(import.meta.url)(pikalaEntry) : await import(pathToFileURL(pikalaEntry).href);
const mod = fixture.endsWith('.cjs') || fixture.endsWith('.cts.js')
  ? createRequire(import.meta.url)(fixture) : await import(pathToFileURL(fixture).href);
let value = exportName === 'default' ? (mod.default ?? mod) : mod[exportName];
if (value === undefined && mod.default && exportName !== 'default') value = mod.default[exportName];
if (typeof value === 'function' && value.pikalaFixtureFactory) value = await value();
const options = optionsJson ? JSON.parse(optionsJson) : undefined;
writeFileSync(outFile, pikala.dumps(value, options));
