import type { Argv } from 'yargs';
import { builtinRules, ftm } from '../../rewrites/index.js';
import { ftmError } from '../errors.js';
import type { AnyRule } from '../rewrite/rule.js';

/** The rule flags compress and rewrite share: `--option key=value` for any option, `--s` for FTM's ratio S. */
export interface RuleArgs {
  option: string[];
  s?: number;
  /** Deprecated spelling of --s (rewrite's first name for it). */
  ratioS?: number;
}

/** Each built-in rule's options, from its `meta.options`: what `--option` takes. */
const optionList = () =>
  Object.values(builtinRules)
    .filter((r) => Object.keys(r.meta.options).length)
    .map((r) => `${r.name}: ${Object.keys(r.meta.options).join(', ')}`)
    .join('; ');

/** `--rule mixed`: a plan that chooses per layer among these rules' settings (planMixed); a pruned layer takes its
 * consumers with it. */
export const MIXED = 'mixed';
export const MIXED_RULES = ['ftm', 'lowrank', 'prune'];
const mixedRules = (): AnyRule[] => MIXED_RULES.map((r) => builtinRules[r]);

/**
 * `--rule auto` (the default): the mixed plan, unless its trial fits are estimated at more than AUTO_SHARE_LIMIT times
 * the work of FTM's fits (mixedTrialShare), where FTM plans alone. The mixed plan was the most accurate plan at every
 * ratio on all three Fashion-MNIST fixtures (bench/fixtures-accuracy.md), which are under the limit from 96 images up;
 * torchvision networks at 224×224 on tens of images are well above it, and there the trials cost several times FTM's
 * job for a small gain (bench/mixed-cost.md).
 */
export const AUTO = 'auto';
export const AUTO_SHARE_LIMIT = 3;

/** The rule options of compressModel that `--rule auto` stands for (when no rule option or latency objective is given). */
export const autoRules = (): { rule: AnyRule[]; fallback: { rule: AnyRule; above: number } } => ({ rule: mixedRules(), fallback: { rule: ftm, above: AUTO_SHARE_LIMIT } });

/** What `--rule NAME` names: a built-in rule, or for MIXED the rules the mixed plan chooses among. */
export const namedRule = (name: string): AnyRule | AnyRule[] => (name === MIXED ? mixedRules() : builtinRules[name]);

/** The built-in rules a planner can turn to a target size: those with a knob. */
export const tunableRules = (): string[] => Object.values(builtinRules).filter((r) => r.meta.knob).map((r) => r.name);

/** Adds the rule flags, described from the registered rules' metadata (yargs also gives kebab-case flags camelCase names). */
export function withRuleOptions<T>(y: Argv<T>, sDefault: string): Argv<T & RuleArgs> {
  const s = ftm.meta.options.s;
  return y
    .option('option', { type: 'string', array: true, default: [], describe: `rule option as key=value (repeatable), checked against the rule's options (${optionList()})` })
    .option('s', { type: 'number', describe: `ftm: ${s.description}; shorthand for --option s=N (${sDefault})` })
    .option('ratio-s', { type: 'number', deprecated: 'use --s', describe: 'the old name of --s' }) as unknown as Argv<T & RuleArgs>;
}

/** The rule options the flags give: `key=value` pairs typed (numbers and booleans as such), and --s. The driver checks them against the rule. */
export function ruleOptionsFromArgs(args: RuleArgs): Record<string, unknown> {
  const options = parseOptionPairs(args.option);
  if (args.s !== undefined && args.ratioS !== undefined) throw ftmError('E_USAGE', '--ratio-s is the old name of --s; give one of them');
  const s = args.s ?? args.ratioS;
  if (s !== undefined) {
    if ('s' in options && options.s !== s) throw ftmError('E_USAGE', `--s ${s} and --option s=${String(options.s)} disagree; give one of them`);
    options.s = s;
  }
  return options;
}

function parseOptionPairs(pairs: string[]): Record<string, unknown> {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw ftmError('E_USAGE', `expected --option key=value, found "${p}"`);
      const raw = p.slice(at + 1);
      const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      return [p.slice(0, at), value];
    }),
  );
}
