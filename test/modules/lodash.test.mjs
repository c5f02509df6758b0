// A real package (issue: modules, bullet 7): a function using lodash's chunk gives a payload under 4 KB. The
// producer uses lodash from the repository's node_modules (a devDependency); the consumer has its own copy
// in its temporary folder.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MODULE_FIXTURES, suite } from '../fixtures/modules/harness.mjs';

const under4KB = (bytes, t) => {
  t.diagnostic(`payload: ${bytes.length} bytes`);
  assert.ok(bytes.length < 4096, `payload is ${bytes.length} bytes`);
};

suite({
  producer: { fixture: join(MODULE_FIXTURES, 'lodash/uses-lodash.mjs'), entry: 'elsewhere' },
  consumers: { default: { packages: [{ real: 'lodash' }] } },
}, [
  { title: 'lodash: `_.chunk` through `const _ = require(\'lodash\')`', name: 'wholeLodash', payload: under4KB,
    check: (f) => f([1, 2, 3]), expect: [[1, 2], [3]] },
  { title: 'lodash: `const { chunk } = require(\'lodash\')`', name: 'destructured', payload: under4KB,
    check: (f) => f([1, 2, 3, 4]), expect: [[1, 2], [3, 4]] },
  { title: 'lodash: `require(\'lodash/chunk\')`', name: 'subpath', payload: under4KB, check: (f) => f([1]), expect: [[1]] },
  { title: 'lodash: what the function uses is the receiver\'s own lodash', name: 'identity', payload: under4KB,
    check: (f, { require }) => {
      const v = f();
      return [v._ === require('lodash'), v.chunk === require('lodash').chunk, v.chunkModule === require('lodash/chunk')];
    },
    expect: [true, true, true] },
  { title: 'lodash: default import in an ES module', name: 'esmDefault', payload: under4KB, check: (f) => f(2),
    expect: [[1, 2], [3, 4], [5]] },
  { title: 'lodash: default import of lodash/chunk.js in an ES module', name: 'esmSubpath', payload: under4KB,
    check: (f) => f(3), expect: [[1, 2, 3], [4, 5]] },
]);
