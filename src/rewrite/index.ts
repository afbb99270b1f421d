/** The public rule API: what built-in rules in rewrites/ and users' own rules are written with. */
export { Builder } from './builder.js';
export { applyRules, dryRun, nodeKey, type DryRun, type ApplyOptions, type ApplyResult, type RewriteRecord, type RewriteStatus } from './driver.js';
export { defineRule, isNoMatch, noMatch, type AnyRule, type FitPlan, type FitResult, type FitSolveOptions, type LayerStats, type MatchBase, type NoMatch, type OptionSpec, type Params, type Proposal, type Rule, type RuleContext } from './rule.js';
