// One fresh process of code-cache.test.mjs: captures a closure (the first capture of the process runs the
// parsers, which pikala loaded when it was imported), writes its bytes to argv[2], and prints how each parser
// file was loaded. With argv[3], it also loads that CommonJS file through the cache (a module the test can
// change on disk). With CHILD_CHDIR, it changes its working directory after importing pikala.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dumps } from '../../dist/esm/index.js';
import { codeCacheOutcomes, requireCached, saveCodeCache } from '../../dist/esm/util/code-cache.js';

if (process.env.CHILD_CHDIR) process.chdir(process.env.CHILD_CHDIR);
let extra = null;
if (process.argv[3]) {
  extra = requireCached(process.argv[3], createRequire(import.meta.url));
}
const rate = 3;
let total = 0;
const scale = (xs) => xs.map((x) => { total += x; return x * rate; });
writeFileSync(process.argv[2], dumps(scale));
saveCodeCache();
process.stdout.write(JSON.stringify({
  outcomes: Object.fromEntries([...codeCacheOutcomes()].map(([file, o]) => [file.replace(/^.*node_modules\//, ''), o])),
  extra: extra && extra.answer(),
}));
