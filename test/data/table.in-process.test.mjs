// Every table entry (except the huge ones) dumped and loaded in this process. See in-process.mjs.
import { inProcessSuite } from './in-process.mjs';
import { table } from '../fixtures/data/table.mjs';

inProcessSuite(table.filter((e) => !e.big));
