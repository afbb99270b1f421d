import type { CalibrationSet } from '../calib/types.js';
import { fitSequential } from '../fit/sequential.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import { ruleStats } from '../profile/rule-stats.js';
import { applyRules, dryRun } from '../rewrite/driver.js';
import type { AnyRule, LayerProfile } from '../rewrite/rule.js';
import type { LayerChoice, MixedCandidate } from '../plan/mixed-plan.js';

export interface LayerChoicesOptions {
  /** Only these layers may be rewritten; these stay as they are. */
  include?: string[];
  exclude?: string[];
  threads?: number;
  batchSize?: number;
  /** After each setting's fits: how many settings of all are done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Every way the rules can rewrite each layer, with its fit error measured: for each rule at each setting of its knob
 * (the rule's options as they are when it has none), every layer it fires on is rewritten and the model fitted in
 * closed form, as the job fits it (sequentially: a layer's input comes from the layers before it, rewritten at the same
 * setting). Costs one closed-form fit of the model per setting; sequential fits run segment by segment in about two
 * passes, where fitting each layer on the original's input would take a pass per layer.
 */
export async function measureLayerChoices(model: Model, rules: readonly AnyRule[], profiles: readonly LayerProfile[], calib: CalibrationSet, options: LayerChoicesOptions = {}): Promise<MixedCandidate[]> {
  const include = options.include && new Set(options.include);
  const exclude = new Set(options.exclude ?? []);
  const nodes = model.graph.nodes.filter((n) => n.isOnnxDomain && rules.some((r) => r.meta.ops.includes(n.opType)));
  const candidates = new Map<string, MixedCandidate>(nodes.map((n) => [nodeKey(n), { layer: nodeKey(n), choices: [] }]));
  const settings = rules.flatMap((rule) => {
    const knob = rule.meta.knob;
    return knob ? knob.values.map((v) => ({ rule, options: { [knob.option]: v } })) : [{ rule, options: {} }];
  });
  for (const [i, { rule, options: ruleOptions }] of settings.entries()) {
    const stats = ruleStats(rule, profiles, ruleOptions);
    const firing = new Map<string, LayerChoice>();
    for (const node of nodes) {
      const layer = nodeKey(node);
      const candidate = candidates.get(layer)!;
      if (exclude.has(layer) || (include && !include.has(layer))) {
        candidate.reason = 'excluded';
        continue;
      }
      const d = dryRun(model, rule, node, ruleOptions, stats[layer]);
      if (!d.fires) candidate.reason ??= d.reason;
      else if (d.removed <= d.added) candidate.reason ??= 'the rewrite would not reduce parameters';
      else firing.set(layer, { rule: rule.name, options: ruleOptions, removed: d.removed, added: d.added, error: 0 });
    }
    if (firing.size) {
      const rewritten = applyRules(model, [rule], { layers: [...firing.keys()], options: { [rule.name]: ruleOptions }, stats });
      const fit = await fitSequential(model, rewritten.model, rewritten.records, calib, { threads: options.threads, batchSize: options.batchSize });
      // A rewrite that fits several layers (prune refits each consumer) is as good as its worst.
      for (const l of fit.layers) {
        const choice = firing.get(l.layer);
        if (choice) choice.error = Math.max(choice.error, l.errorAfter);
      }
      for (const [layer, choice] of firing) candidates.get(layer)!.choices.push(choice);
    }
    options.onProgress?.(i + 1, settings.length);
  }
  return [...candidates.values()];
}
