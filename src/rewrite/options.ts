import { ftmError } from '../errors.js';
import type { AnyRule, OptionSpec } from './rule.js';

/**
 * A rule's options, checked once against its `meta.options` before any node is matched (as ESLint checks a rule's
 * `meta.schema`), with the rule's defaults for those not given. A misspelled name or a value out of range is one usage
 * error naming the rule, the option, what it accepts and what was given, never one declined row per layer.
 */
export function resolveOptions(rule: AnyRule, given: Record<string, unknown>): Record<string, unknown> {
  const specs = rule.meta.options as Record<string, OptionSpec>;
  for (const [key, value] of Object.entries(given)) {
    const spec = specs[key];
    if (!spec) throw ftmError('E_USAGE', `rule "${rule.name}" has no option "${key}" (options: ${Object.keys(specs).join(', ') || 'none'})`);
    if (!accepts(spec, value)) throw ftmError('E_USAGE', `rule "${rule.name}" option "${key}": expected ${describeOption(spec)}, found ${JSON.stringify(value)}`);
  }
  // A default its own spec refuses is the rule's bug, not the caller's.
  const bad = Object.entries(specs).find(([k, s]) => !(k in given) && !accepts(s, s.default));
  if (bad) throw ftmError('E_RULE', `rule "${rule.name}" option "${bad[0]}": its default ${JSON.stringify(bad[1].default)} is not ${describeOption(bad[1])}`);
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, k in given ? given[k] : s.default]));
}

function accepts(spec: OptionSpec, value: unknown): boolean {
  if (typeof value !== spec.type) return false;
  if (spec.choices && !spec.choices.includes(value as string | number)) return false;
  if (typeof value !== 'number') return true;
  if (!Number.isFinite(value) || ((spec.integer || spec.odd) && !Number.isInteger(value)) || (spec.odd && value % 2 === 0)) return false;
  if (spec.min !== undefined && value < spec.min) return false;
  if (spec.exclusiveMin !== undefined && value <= spec.exclusiveMin) return false;
  return spec.max === undefined || value <= spec.max;
}

/** What an option accepts, in words: `an odd integer ≥ 1`, `a number in (0, 1]`, `one of "folded", "module"`. */
export function describeOption(spec: OptionSpec): string {
  if (spec.choices) return `one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}`;
  if (spec.type !== 'number') return `a ${spec.type}`;
  const kind = spec.odd ? 'an odd integer' : spec.integer ? 'an integer' : 'a number';
  const low = spec.exclusiveMin ?? spec.min;
  if (low !== undefined && spec.max !== undefined) return `${kind} in ${spec.exclusiveMin !== undefined ? '(' : '['}${low}, ${spec.max}]`;
  if (low !== undefined) return `${kind} ${spec.exclusiveMin !== undefined ? '>' : '≥'} ${low}`;
  return spec.max !== undefined ? `${kind} ≤ ${spec.max}` : kind;
}
