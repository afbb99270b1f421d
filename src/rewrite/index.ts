/** The public rule API: what built-in rules in rewrites/ and users' own rules are written with. */
export { Builder } from './builder.js';
export { nodeKey } from '../ir/node.js';
export { applyRules, dryRun, finalizeRules, type DryRun, type ApplyOptions, type LayerAssignment, type ApplyResult, type RewriteRecord, type RewriteStatus } from './driver.js';
export { defineRule, isNoMatch, noMatch, type AnyRule, type LayerProfile, type LayerStats, type MatchBase, type NoMatch, type OptionSpec, type Proposal, type Rule, type RuleContext } from './rule.js';
export type { FitPlan, FitResult, FitSolveOptions, Params, PatchLayer, PatchStats } from './fit-contract.js';
