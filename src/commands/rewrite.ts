import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommandModule } from 'yargs';
import { builtinRules } from '../../rewrites/index.js';
import { ftmError } from '../errors.js';
import { formatIntake } from '../intake/format.js';
import { intakeModel } from '../intake/intake.js';
import { loadModel } from '../onnx/load.js';
import { modelFiles } from '../onnx/save.js';
import { checkOutputs } from '../output/check.js';
import { writeOutputs } from '../output/transaction.js';
import { formatTable } from '../report/table.js';
import { applyRules, type RewriteRecord } from '../rewrite/driver.js';
import { resolveOptions } from '../rewrite/options.js';
import type { AnyRule } from '../rewrite/rule.js';
import type { ProfileReport } from '../profile/report.js';
import { statsFromProfile } from '../profile/to-stats.js';
import { ruleOptionsFromArgs, withRuleOptions, type RuleArgs } from './rule-options.js';

interface RewriteArgs extends RuleArgs {
  model: string;
  rule: string;
  layers: string;
  output: string;
  force: boolean;
  json: boolean;
  intake: boolean;
  profile?: string;
}

/** A built-in rule by name, or a user's rule from a JS module (its default export or its export `rule`). */
async function resolveRule(spec: string): Promise<AnyRule> {
  if (builtinRules[spec]) return builtinRules[spec];
  if (!/[./\\]/.test(spec)) throw ftmError('E_USAGE', `unknown rule "${spec}" (built-in: ${Object.keys(builtinRules).join(', ')}; or give a path to a .js module)`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(spec)).href);
  } catch (e) {
    throw ftmError('E_USAGE', `cannot load the rule module (${(e as Error).message.split('\n')[0]})`, spec);
  }
  const rule = (mod.default ?? mod.rule) as AnyRule | undefined;
  if (!rule || typeof rule.match !== 'function' || typeof rule.rewrite !== 'function') {
    throw ftmError('E_USAGE', 'expected a module whose default export (or export `rule`) is a rule object with match and rewrite', spec);
  }
  return rule;
}

function readProfile(path: string): ProfileReport {
  let report: ProfileReport;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw ftmError('E_USAGE', `expected a JSON report written by \`profile --json\` (${(e as Error).message.split('\n')[0]})`, path);
  }
  if (report?.format !== 1 || !Array.isArray(report.layers)) throw ftmError('E_USAGE', 'expected a `profile --json` report (format 1)', path);
  return report;
}

const recordRow = (r: RewriteRecord) => [r.node, r.rule, r.status, r.reason ?? ''];

export const rewriteCommand: CommandModule<object, RewriteArgs> = {
  command: 'rewrite <model>',
  describe: 'Apply one rewrite rule to chosen layers, without fitting (data-free initialization)',
  builder: (y) =>
    withRuleOptions(y, 'default 2')
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('rule', { type: 'string', default: 'ftm', describe: `built-in rule name (${Object.keys(builtinRules).join(', ')}) or path to a JS module exporting a rule` })
      .option('layers', { type: 'string', default: 'all', describe: 'comma-separated node names, or "all"' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'where to write the rewritten model' })
      .option('force', { type: 'boolean', default: false, describe: 'allow overwriting the input model' })
      .option('json', { type: 'boolean', default: false, describe: 'print the record as JSON' })
      .option('intake', { type: 'boolean', default: true, describe: 'canonicalize the model first (docs/intake.md); --no-intake: rewrite it as written' })
      .option('profile', { type: 'string', describe: 'a `profile --json` report: its channel pairing and ghost scales seed the rule' }),
  handler: async (args) => {
    const rule = await resolveRule(args.rule);
    const ruleOptions = ruleOptionsFromArgs(args);
    resolveOptions(rule, ruleOptions); // a bad option is refused before the model is read
    const loaded = loadModel(args.model);
    checkOutputs([{ path: args.output, what: 'model', mayReplaceInput: args.force }], loaded.path);
    const { model, report: intake } = args.intake ? intakeModel(loaded) : { model: loaded, report: undefined };
    const layers = args.layers === 'all' ? undefined : args.layers.split(',').map((s) => s.trim()).filter(Boolean);
    const stats = args.profile ? statsFromProfile(readProfile(args.profile)) : undefined;
    // Nothing is fitted here, so the rule's clean-ups (FTM: channel reorders folded into the convs that read them) run at once.
    const result = applyRules(model, [rule], { layers, stats, options: { [rule.name]: ruleOptions }, finalize: true });
    writeOutputs(modelFiles(result.model, args.output));
    const summary = {
      model: args.model,
      output: args.output,
      rule: rule.name,
      // Of the model as given: intake's folds count as the compression they are.
      paramsBefore: intake?.params.before ?? result.paramsBefore,
      paramsAfter: result.paramsAfter,
      records: result.records.map(({ params: _p, fit: _f, ...r }) => r),
      ...(intake ? { intake } : {}),
    };
    if (args.json) return void process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    const fired = result.records.filter((r) => r.status === 'fired').length;
    process.stdout.write(`${formatTable(['layer', 'rule', 'status', 'reason'], result.records.map(recordRow))}\n\n${intake ? `${formatIntake(intake)}\n` : ''}`);
    process.stdout.write(
      `${rule.name}: ${fired} of ${result.records.length} layers rewritten; parameters ${summary.paramsBefore.toLocaleString('en-US')} → ` +
        `${summary.paramsAfter.toLocaleString('en-US')} (ratio ${(summary.paramsAfter / summary.paramsBefore).toFixed(3)}); wrote ${args.output}\n`,
    );
  },
};
