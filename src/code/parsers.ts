/**
 * The parser (acorn) and scope analyser (eslint-scope) the code layer reads source text with. Import them from
 * here, never from the packages:
 * - they load through the code cache (util/code-cache.ts), so a fresh process does not compile them again;
 * - when they cannot be loaded (a bundle or an install without pikala's dependencies), data and shipped code
 *   still work and a capture fails with PIKALA_CAPTURE saying why;
 * - every use goes through one loaded copy.
 *
 * They load with pikala, not at the first capture: loading them costs ~8 ms however it is done (resolving the
 * packages, reading 350 kB, running acorn's table set-up), and a first capture is where users and the
 * benchmark feel a delay; loading on first use took 42 → 31 ms off `import` but made the first capture
 * 15 → 20 ms (docs/PERFORMANCE.md).
 */
import type * as AcornModule from 'acorn';
import type * as EslintScopeModule from 'eslint-scope';
import { PikalaError } from '../api/errors.js';
import { requireCached, saveCodeCache } from '../util/code-cache.js';

export type { Node as AcornNode, Options as AcornOptions } from 'acorn';

interface Parsers { acorn: typeof AcornModule; eslintScope: typeof EslintScopeModule }
let loaded: Parsers | null = null;
let failure: string | null = null;

/**
 * Loads the parsers if that has not been done; returns why they cannot be loaded (a bundle or an install
 * without pikala's dependencies), or null. Capture calls this first, so the failure reaches the user as itself
 * rather than as a function whose source "does not parse".
 */
export function parsersMissing(): string | null {
  if (loaded !== null || failure !== null) return failure;
  try {
    loaded = {
      acorn: requireCached('acorn') as typeof AcornModule,
      eslintScope: requireCached('eslint-scope') as typeof EslintScopeModule,
    };
  } catch (e) {
    const why = String((e as Error)?.message ?? e).split('\n')[0];
    failure = `reading a function's source needs the packages acorn and eslint-scope, which could not be loaded ` +
      `(${why}); install pikala with its dependencies (a bundle must include them)`;
  }
  return failure;
}

parsersMissing();

function parsers(): Parsers {
  const why = parsersMissing();
  if (why !== null) throw new PikalaError('PIKALA_CAPTURE', why);
  return loaded!;
}

export const acorn = {
  parse(input: string, options: AcornModule.Options): AcornModule.Program {
    return parsers().acorn.parse(input, options);
  },
  parseExpressionAt(input: string, pos: number, options: AcornModule.Options): AcornModule.Expression {
    return parsers().acorn.parseExpressionAt(input, pos, options);
  },
};

/**
 * eslint-scope's `analyze`. The first analysis is when the parsers have done a capture's work, so it is when
 * their compiled code is worth keeping for the next process.
 */
export function analyzeScopes(...args: Parameters<typeof EslintScopeModule.analyze>): ReturnType<typeof EslintScopeModule.analyze> {
  const manager = parsers().eslintScope.analyze(...args);
  saveCodeCache();
  return manager;
}
