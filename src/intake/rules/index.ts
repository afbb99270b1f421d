/** The canonicalization rule set intake runs to a fixed point: exporters' forms into the form rewrite rules expect. */
import type { AnyRule } from '../../rewrite/rule.js';
import { castHalfConstant } from './cast-half-constant.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { foldMulAdd } from './fold-mul-add.js';
import { foldPad } from './fold-pad.js';

export const canonicalRules: AnyRule[] = [castHalfConstant, foldPad, foldBatchNorm, foldMulAdd];
export { castHalfConstant, foldBatchNorm, foldMulAdd, foldPad };
