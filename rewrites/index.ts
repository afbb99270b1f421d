/** The built-in rewrite rules, by name. Each is written with the public API only, as a user's rule would be. */
import type { AnyRule } from '../src/index.js';
import { foldGather } from './fold-gather.js';
import { ftm } from './ftm.js';
import { lowrank } from './lowrank.js';
import { prune } from './prune.js';

export const builtinRules: Record<string, AnyRule> = { ftm, lowrank, prune, 'fold-gather': foldGather };
export { foldGather, ftm, lowrank, prune };
