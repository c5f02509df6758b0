// The huge table entries (50 MB strings, a 1,000,000-deep list, a 1,000,000-element array) in this process.
import { inProcessSuite } from './in-process.mjs';
import { table } from '../fixtures/data/table.mjs';

inProcessSuite(table.filter((e) => e.big));
