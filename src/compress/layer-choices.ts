import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { collectLayerStats } from '../fit/patch-stats.js';
import { droppedShare, restrictChannels } from '../fit/restrict-channels.js';
import { isComputed } from '../graph/computed.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import type { LayerChoice, MixedCandidate } from '../plan/mixed-plan.js';
import { ruleStats } from '../profile/rule-stats.js';
import { applyRules, dryRun } from '../rewrite/driver.js';
import type { AnyRule, FitPlan, LayerProfile, Params, PatchLayer } from '../rewrite/rule.js';
import { captureBatches } from '../runtime/capture.js';

export interface LayerChoicesOptions {
  /** Only these layers may be rewritten; these stay as they are. */
  include?: string[];
  exclude?: string[];
  threads?: number;
  batchSize?: number;
  /** After each layer's fits: the work done and all of it, in the same unit (layers weigh what their statistics and
   * solves are estimated to cost, so that the ETA is not thrown by one wide layer), and the layer just done. */
  onProgress?: (done: number, total: number, layer: string) => void;
}

/** One setting's rewrite of a layer, waiting for its fit: the plan, the weights it fits, and the choice it will score. */
interface Trial {
  plan: FitPlan;
  params: Params;
  choice: LayerChoice;
  source: TeacherSource;
}

/**
 * Every way the rules can rewrite each layer, with its fit error measured: for each rule at each setting of its knob
 * (the rule's options as they are when it has none), every layer it fires on is rewritten and fitted in closed form on
 * the original model's input and output of that layer, so a layer's error is its own, whatever the other layers
 * become. The statistics a fit reads depend on the layer, not on the setting (FTM and low-rank read the same conv
 * patches; prune's settings refit the same consumer on different kept channels, restricted from one collection): they
 * are collected once per layer, in a pass cut after it, and every setting's solve reads them.
 */
export async function measureLayerChoices(model: Model, rules: readonly AnyRule[], profiles: readonly LayerProfile[], calib: CalibrationSet, options: LayerChoicesOptions = {}): Promise<MixedCandidate[]> {
  const include = options.include && new Set(options.include);
  const exclude = new Set(options.exclude ?? []);
  const threads = options.threads ?? availableParallelism();
  const nodes = model.graph.nodes.filter((n) => n.isOnnxDomain && rules.some((r) => r.meta.ops.includes(n.opType)));
  const candidates = new Map<string, MixedCandidate>(nodes.map((n) => [nodeKey(n), { layer: nodeKey(n), choices: [] }]));
  const trials = new Map<string, Trial[]>();
  const settings = rules.flatMap((rule) => {
    const knob = rule.meta.knob;
    return knob ? knob.values.map((v) => ({ rule, options: { [knob.option]: v } })) : [{ rule, options: {} }];
  });
  for (const { rule, options: ruleOptions } of settings) {
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
      else firing.set(layer, { rule: rule.name, options: ruleOptions, removed: d.removed, added: d.added, error: 0, consumes: d.consumes });
    }
    // A rewrite that takes other layers with it (prune takes its consumers) skips them as targets: they get a pass of their own.
    for (let pending = [...firing.keys()]; pending.length; ) {
      const rewritten = applyRules(model, [rule], { layers: pending, options: { [rule.name]: ruleOptions }, stats });
      pending = rewritten.records.filter((r) => r.status === 'skipped').map((r) => r.node);
      for (const record of rewritten.records) {
        const choice = firing.get(record.node);
        if (record.status !== 'fired' || !choice) continue;
        // Without a fit there is no error to weigh it by (prune into a Gemm, an N-d conv): an unmeasured choice would look free.
        if (!record.fit?.length) {
          candidates.get(record.node)!.reason ??= `${rule.name}: no fit measures this rewrite's error`;
          continue;
        }
        candidates.get(record.node)!.choices.push(choice);
        const layerTrials = trials.get(record.node) ?? [];
        for (const plan of record.fit ?? []) layerTrials.push({ plan, params: record.params!, choice, source: teacherSource(model, record.node, plan) });
        trials.set(record.node, layerTrials);
      }
    }
  }
  const counts = new Map(profiles.map((p) => [p.layer, p.count]));
  const groups = new Map([...trials].map(([layer, t]) => [layer, byStatistics(t)]));
  const work = new Map([...groups].map(([layer, g]) => [layer, estimatedWork(g, counts.get(layer) ?? 1)]));
  const total = [...work.values()].reduce((a, b) => a + b, 0);
  let done = 0;
  for (const [layer, layerGroups] of groups) {
    for (const group of layerGroups) {
      const { input, patches } = group[0].source;
      const pairs = captureBatches(calib, { x: { model, value: input }, y: { model, value: group[0].plan.target } }, { threads, batchSize: options.batchSize ?? 64 });
      const stats = await collectLayerStats(pairs, patches, { threads, where: layer });
      for (const t of group) {
        const kept = t.source.kept;
        const fitted = (await t.plan.solve(kept ? restrictChannels(stats, kept) : stats, t.params, { threads })).errorAfter;
        // Dropping channels changes two outputs: the layer's (what it no longer gives) and the refitted consumer's.
        const error = kept ? fitted + droppedShare(stats, kept) : fitted;
        // A rewrite that fits several layers (prune refits each consumer) is as good as its worst.
        t.choice.error = Math.max(t.choice.error, error);
      }
    }
    done += work.get(layer)!;
    options.onProgress?.(done, total, layer);
  }
  return [...candidates.values()];
}

/**
 * A layer's trial work, roughly in flops: per group of trials sharing statistics (byStatistics), its Gram (K², K the
 * patch length) over the positions, and a K³ solve per trial. Only the proportions between layers matter.
 */
function estimatedWork(groups: readonly Trial[][], positions: number): number {
  return groups.reduce((sum, group) => {
    const { cin, geometry } = group[0].source.patches;
    const k = (cin + 1) * geometry.kernel.reduce((a, b) => a * b, 1) + 1;
    return sum + k * k * (positions + group.length * k);
  }, 0);
}

/** Where a trial's statistics come from in the original model: the value read, the patches over all its channels, and the channels the fit keeps. */
interface TeacherSource {
  input: string;
  patches: PatchLayer;
  kept?: readonly number[];
}

/**
 * The value of the original model a trial's fit reads: the plan's `teacherInput` when it names one (with its channels),
 * its input, or, where an earlier rewrite of the same setting replaced that value (two rewritten convs in a row), the
 * rewritten node's own input in the original.
 */
function teacherSource(model: Model, layer: string, plan: FitPlan): TeacherSource {
  const named = plan.teacherInput;
  if (named && isComputed(model.graph, named.name)) {
    const channels = named.channels;
    return channels ? { input: named.name, patches: { ...plan.patches, cin: channels.of }, kept: channels.kept } : { input: named.name, patches: plan.patches };
  }
  if (isComputed(model.graph, plan.input.name)) return { input: plan.input.name, patches: plan.patches };
  const node = model.graph.nodes.find((n) => nodeKey(n) === layer);
  const own = node?.inputs[0]?.name;
  if (own && isComputed(model.graph, own)) return { input: own, patches: plan.patches };
  throw ftmError('E_USAGE', `the mixed plan fits each layer on the original's input; the rewrite reads "${plan.input.name}", which the original does not compute`, layer);
}

/** The trials grouped by the statistics their fits read (the same original input, target and patches). */
function byStatistics(trials: readonly Trial[]): Trial[][] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const key = JSON.stringify([t.source.input, t.plan.target, t.source.patches]);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()];
}
