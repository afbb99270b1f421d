import { availableParallelism } from 'node:os';
import { countParams } from '../analysis/params.js';
import type { CalibrationSet } from '../calib/types.js';
import { checkDistillOptions, distill, type DistillOptions, type DistillReport } from '../distill/distill.js';
import { trainableNames } from '../distill/trainable.js';
import { defaultDistillBudget } from '../distill/budget.js';
import { convMacsPerSample } from '../analysis/conv-macs.js';
import { ftmError, isFtmError } from '../errors.js';
import { fitSequential } from '../fit/sequential.js';
import { intakeModel, type IntakeReport } from '../intake/intake.js';
import type { Model } from '../ir/model.js';
import { timeLayerRewrites } from '../plan/layer-latency.js';
import { judgeLatency, leftOutForLatency, OBJECTIVES, SLOWER, slowerBatches, verdictEdge, type LayerTiming, type Objective } from '../plan/latency-verdict.js';
import { compareLatency, MAX_LATENCY_BATCH, type LatencyComparison } from '../runtime/latency.js';
import { planRewrites, planWithLatency, type Plan } from '../plan/plan.js';
import { DEFAULT_THRESHOLD, layerReport } from '../profile/layer-report.js';
import { profileLayers, type ModelProfile } from '../profile/profile-layers.js';
import { decibels } from '../profile/report.js';
import { assignedStats, assignmentGroups, planAssignments } from './assignments.js';
import { measureLayerChoices } from './layer-choices.js';
import { mixedTrialShare } from './trial-share.js';
import { planMixed, type MixedCandidate, type MixedPlanOptions } from '../plan/mixed-plan.js';
import { mapLayer, similarityMap, type SimilarityMap } from '../profile/similarity-map.js';
import { applyRules, finalizeRules, type LayerAssignment, type RewriteRecord } from '../rewrite/driver.js';
import { resolveOptions } from '../rewrite/options.js';
import type { AnyRule, LayerProfile } from '../rewrite/rule.js';
import { measureAgreement, MIN_RELIABLE_SAMPLES, type OutputAgreement } from './agreement.js';
import { chooseStudent, snapshotInitializers, type StudentChoice } from './choose.js';
import { refitClassifier, type ClassifierRefit } from './refit-classifier.js';
import { splitCalibration } from './split.js';

export interface CompressOptions {
  targetRatio: number;
  /** The rewrite rule (e.g. `ftm` from 'ftm-compress/rewrites'), or several for a mixed plan: each layer is then
   * rewritten by the rule and setting of its knob that the measured fit errors choose (planMixed). */
  rule: AnyRule | readonly AnyRule[];
  /** Options of the rule; setting its knob (FTM: s) fixes it instead of letting the planner choose. */
  ruleOptions?: Record<string, unknown>;
  /**
   * With several rules: plan with this one rule instead where the mixed plan's trial fits are estimated at more than
   * `above` times the work of its fits (mixedTrialShare): wide layers seen at few positions, where trying every setting
   * of every layer costs many times the job it improves.
   */
  fallback?: { rule: AnyRule; above: number };
  include?: string[];
  exclude?: string[];
  bestEffort?: boolean;
  /**
   * What the plan is for (default 'params': the target ratio, without rewrites timed slower than their layer; see
   * `Objective`). With 'params' the plan on parameters alone is timed whole first and kept when not slower; otherwise,
   * and with the other objectives, each candidate layer is timed alone against its rewrite on onnxruntime at batch 1
   * (src/plan/layer-latency.ts).
   */
  objective?: Objective;
  /** Plan on parameters alone, as before latency was measured: rewrites slower than their layer are taken too, and
   * nothing is timed. Only with the objective 'params'. */
  allowSlower?: boolean;
  /** Share of the calibration samples held out for evaluation (default 1/8). */
  holdout?: number;
  seed?: number;
  threads?: number;
  batchSize?: number;
  /**
   * End-to-end distillation after the closed-form fits (src/distill), on the fitting samples; VALIDATION_SHARE of them
   * is set aside first, to choose between the closed-form and the distilled student. false turns it off. Default: on,
   * with the defaults of DistillOptions.
   */
  distill?: false | CompressDistillOptions;
  /** Progress of the long stages: which stage, and how far along it is (0..1). */
  onProgress?: (stage: Stage, fraction: number, detail?: string) => void;
  /** An optional stage could not run on this model and was skipped (the job goes on): one line saying why. */
  onWarning?: (message: string) => void;
  /** Keep one layer's channel-similarity map in the report (for pictures): this layer, or with true the most
   * redundant rewritten one. Off by default: the full matrices are C×C per layer. */
  similarity?: true | string;
}

export type Stage = 'profile' | 'trial-fit' | 'layer-latency' | 'fit' | 'refit' | 'distill' | 'evaluate';

/** What compressModel passes on to distill: its threads, seed and progress come from CompressOptions. */
export type CompressDistillOptions = Omit<DistillOptions, 'threads' | 'seed' | 'onProgress' | 'output'>;

/** The fewest fitting samples distillation is worth running on. */
const MIN_DISTILL_SAMPLES = 16;

/** With distillation on, the share of the non-held-out samples set aside to choose between the two students. */
export const VALIDATION_SHARE = 0.125;

/** The share of the calibration samples held out to report agreement on, unless `holdout` says otherwise. */
export const DEFAULT_HOLDOUT = 0.125;

/** Errors that mean an optional stage cannot run on this model (not a bug, not a misuse): the stage is skipped. */
const DEGRADES = ['E_UNSUPPORTED', 'E_RUNTIME'] as const;

/**
 * The distillation, and which student the job kept: the distilled one only if it won on the validation samples. Both
 * students' agreement on the held-out samples is reported too, to show what the choice did (nothing is chosen by it).
 */
export type CompressDistillReport = DistillReport & { kept: StudentChoice; heldOut: { closedForm: OutputAgreement[]; distilled: OutputAgreement[] } };

export interface LayerSummary {
  layer: string;
  rewritten: boolean;
  reason?: string;
  redundancy: number | null;
  /** In a mixed plan, for a rewritten layer: the rule and its options there. */
  rule?: string;
  ruleOptions?: Record<string, unknown>;
  paramsBefore: number;
  paramsAfter: number;
  errorBefore?: number;
  errorAfter?: number;
}

export interface CompressReport {
  /** The rule's name; for a mixed plan, the rules' names joined by "+". */
  rule: string;
  /** The rule's options (the planned setting of its knob); empty for a mixed plan, whose options are per layer. */
  ruleOptions: Record<string, unknown>;
  /** With a fallback: the estimate that chose between the mixed plan and the fallback rule. */
  ruleChoice?: RuleChoice;
  targetRatio: number;
  achievedRatio: number;
  paramsBefore: number;
  paramsAfter: number;
  /** fit: the closed-form fits and distillation train on these; validation: distillation is monitored and the kept
   * student chosen on these (0 without distillation); heldOut: the agreement below is measured on these, and nothing
   * is fitted or chosen on them. */
  samples: { fit: number; validation: number; heldOut: number };
  layers: LayerSummary[];
  /** What the plan was for. */
  objective: Objective;
  /** With 'params': the plan made on parameters alone, built with the rule's data-free start, timed against the original
   * before fitting. When it is not slower, that plan is kept and no layer is timed alone. */
  draftLatency?: LatencyComparison;
  /** Each candidate layer timed alone against its rewrite, when the plan needed it (never with allowSlower). */
  layerLatency?: LayerTiming[];
  /** The classifier refit, or why it could not run. */
  classifier?: ClassifierRefit | { skipped: string };
  /** The end-to-end distillation and the choice it led to, or why it did not run. */
  distill?: CompressDistillReport | { skipped: string };
  /** On the held-out samples, never used for fitting. */
  agreement: OutputAgreement[];
  /** Whether there were at least MIN_RELIABLE_SAMPLES held-out samples: with fewer, the agreement above is too
   * uncertain to judge by (the CLI's gates refuse to). */
  agreementReliable: boolean;
  /** The layer asked for with `similarity`, with its FTM pairing. */
  similarity?: SimilarityMap;
  /** What model intake changed before anything else ran (src/intake): the model compressed is the canonical one. */
  intake: IntakeReport;
  seconds: Record<Stage | 'total', number>;
}

/**
 * The main job: profile the calibration data, plan the rewrites to the target ratio, rewrite, fit each rewritten
 * layer sequentially to the original (teacher), refit the classifier, fold the channel reorders, and measure the
 * teacher/student agreement on held-out samples. Returns the compressed model and the report; the input is unchanged.
 */
export async function compressModel(original: Model, calib: CalibrationSet, options: CompressOptions): Promise<{ model: Model; report: CompressReport }> {
  const start = performance.now();
  // Refused before any work: the mixed plan would otherwise meet it only after its trial fits.
  if (!(options.targetRatio > 0 && options.targetRatio <= 1)) throw ftmError('E_USAGE', `--target-ratio must be in (0, 1], found ${options.targetRatio}`);
  if (options.allowSlower && options.objective && options.objective !== 'params') {
    throw ftmError('E_USAGE', `allowSlower plans on parameters alone; the objective "${options.objective}" needs each layer timed`);
  }
  if (options.objective !== undefined && !OBJECTIVES.includes(options.objective)) {
    throw ftmError('E_USAGE', `expected the objective to be one of ${OBJECTIVES.join(', ')}, found "${options.objective}"`);
  }
  const { model, report: intake } = intakeModel(original);
  if (options.distill) checkDistillOptions(options.distill);
  const requested: readonly AnyRule[] = isRuleList(options.rule) ? options.rule : [options.rule];
  checkRuleChoice(options, requested);
  const threads = options.threads ?? availableParallelism();
  const batchSize = options.batchSize ?? 64;
  const seconds = { profile: 0, 'trial-fit': 0, 'layer-latency': 0, fit: 0, refit: 0, distill: 0, evaluate: 0, total: 0 };
  const timed = async <T>(stage: Stage, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    options.onProgress?.(stage, 0);
    const out = await f();
    seconds[stage] += (performance.now() - t0) / 1000;
    options.onProgress?.(stage, 1);
    return out;
  };

  const { fit: fitSet, validation, heldOut } = splitCalibration(calib, options.holdout ?? DEFAULT_HOLDOUT, options.seed ?? 0, options.distill === false ? 0 : VALIDATION_SHARE);
  // One pass over the data: whatever setting the planner chooses, the rule's stats hook derives its statistics from it.
  const profile = await timed('profile', () => profileLayers(model, fitSet, { threads, batchSize, onProgress: (p) => options.onProgress?.('profile', p.samples / p.total) }));
  const ruleChoice = isRuleList(options.rule) && options.fallback ? chooseMixedOrFallback(model, requested, profile.layers, options.fallback) : undefined;
  const mixed = isRuleList(options.rule) && ruleChoice?.chosen !== 'fallback';
  const rules: readonly AnyRule[] = ruleChoice?.chosen === 'fallback' ? [options.fallback!.rule] : requested;
  const summaries = profile.layers.map((l) => ({ layer: l.layer, score: decibels(l.score)!, params: l.params }));
  const scores = Object.fromEntries(summaries.map((l) => [l.layer, l.score]));
  const latencyRun = { threads, batchSize: Math.min(batchSize, MAX_LATENCY_BATCH) };
  const objective = options.objective ?? 'params';
  let planned: Plan & { draftLatency?: LatencyComparison };
  if (mixed) {
    const candidates = await timed('trial-fit', () =>
      measureLayerChoices(model, rules, profile.layers, fitSet, { include: options.include, exclude: options.exclude, threads, batchSize, onProgress: (done, all, layer) => options.onProgress?.('trial-fit', done / all, layer) }),
    );
    const mixedOptions = { targetRatio: options.targetRatio, bestEffort: options.bestEffort, total: countParams(model.graph), reference: intake.params.before };
    const plan = planMixed(candidates, mixedOptions);
    planned = options.allowSlower ? plan : await timed('layer-latency', () => mixedWithoutSlower(model, rules, plan, candidates, mixedOptions, fitSet, latencyRun));
  } else {
    const rule = rules[0];
    // Parameter counts and times do not depend on the statistics (FTM: the grouping), so plan without them.
    const planOptions = { targetRatio: options.targetRatio, include: options.include, exclude: options.exclude, bestEffort: options.bestEffort, ruleOptions: options.ruleOptions, scores, paramsBefore: intake.params.before };
    planned = options.allowSlower
      ? planRewrites(model, rule, planOptions)
      : await timed('layer-latency', async () => {
          const draft = objective === 'params' ? await draftIfNotSlower(model, rules, planRewrites(model, rule, planOptions), fitSet, latencyRun) : undefined;
          // Batch 1 only: a layer's run at a larger batch lasts milliseconds, and on a shared machine its median over an
          // affordable number of runs swings many times over (bench/latency.md); the whole model is timed at both after.
          return draft ?? planWithLatency(model, rule, { ...planOptions, objective }, (layers, ruleOptions) => timeLayerRewrites(model, rule, layers, ruleOptions, { threads, edges: [verdictEdge(objective)] }));
        });
  }
  const { draftLatency, ...plan } = planned;
  const assignments = planAssignments(plan, rules[0]);
  const chosen = Object.keys(assignments);
  const stats = assignedStats(rules, profile.layers, assignments);
  const rewritten = applyRules(model, [...rules], { assignments, stats });
  const student = rewritten.model;
  const fit = chosen.length
    ? await timed('fit', () =>
        fitSequential(model, student, rewritten.records, fitSet, {
          threads,
          batchSize,
          onProgress: (p) => options.onProgress?.('fit', (p.index + p.samples / p.total) / p.layers, p.layer),
        }),
      )
    : undefined;
  const classifier = chosen.length ? await timed('refit', () => optionalStage('classifier refit', options, () => refitClassifier(model, student, { fit: fitSet, validation }, { threads, batchSize }))) : undefined;
  const budget = options.distill === false ? undefined : distillBudget(model, fitSet, options.distill || {}, batchSize);
  const distilled = !chosen.length || !budget
    ? undefined
    : fitSet.count < MIN_DISTILL_SAMPLES
      ? skip('distillation', `${fitSet.count} fitting samples, fewer than the ${MIN_DISTILL_SAMPLES} distillation needs`, options)
      : 'skipped' in budget
        ? skip('distillation', budget.skipped, options)
        : await timed('distill', () => optionalStage('distillation', options, () => distillStudent(model, student, rewritten.records, { train: fitSet, validation, heldOut }, options, budget.steps)));
  // The rule's clean-ups (FTM: folding channel reorders) run only now: fitting needs each rewrite's own outputs.
  const final = finalizeRules(student, [...rules]).model;
  const agreement = await timed('evaluate', () => measureAgreement(model, final, heldOut, { threads, batchSize }));
  refuseNonFinite(agreement, fitSet.count, heldOut.count, model.path);
  // Counted on the emitted model: the rule's finalize and intake's conversions change what the file holds.
  const paramsAfter = countParams(final.graph);
  seconds.total = (performance.now() - start) / 1000;
  return {
    model: final,
    report: {
      rule: rules.map((r) => r.name).join('+'),
      ruleOptions: plan.ruleOptions,
      ...(ruleChoice ? { ruleChoice } : {}),
      targetRatio: options.targetRatio,
      achievedRatio: paramsAfter / plan.paramsBefore,
      paramsBefore: plan.paramsBefore,
      paramsAfter,
      samples: { fit: fitSet.count, validation: validation.count, heldOut: heldOut.count },
      layers: layerSummaries(plan, rewritten.records, summaries, fit?.layers ?? []),
      objective,
      ...(draftLatency ? { draftLatency } : {}),
      ...(plan.latency ? { layerLatency: plan.latency } : {}),
      classifier,
      ...(distilled ? { distill: distilled } : {}),
      agreement,
      agreementReliable: heldOut.count >= MIN_RELIABLE_SAMPLES,
      ...(options.similarity ? { similarity: chosenSimilarity(model, profile, rules, assignments, options.similarity) } : {}),
      intake,
      seconds,
    },
  };
}

/**
 * Distils the fitted student towards the teacher (the new parameters of the rewritten layers, by default), then keeps
 * the distilled parameters only if they beat the closed-form fit on the validation samples; otherwise the closed-form
 * ones are written back.
 */
async function distillStudent(teacher: Model, student: Model, records: readonly RewriteRecord[], data: { train: CalibrationSet; validation: CalibrationSet; heldOut: CalibrationSet }, options: CompressOptions, steps: number | undefined): Promise<CompressDistillReport> {
  const settings = options.distill || {};
  const restore = snapshotInitializers(student, trainableNames(student, records, settings.train ?? 'rewritten'));
  const onHeldOut = () => measureAgreement(teacher, student, data.heldOut, { threads: options.threads, batchSize: options.batchSize });
  const closedForm = await onHeldOut();
  const report = await distill(teacher, student, records, data.train, data.validation, {
    ...settings,
    ...(steps === undefined ? {} : { steps }),
    batchSize: settings.batchSize ?? options.batchSize,
    seed: options.seed ?? 0,
    threads: options.threads,
    onProgress: (p) => options.onProgress?.('distill', p.step / p.steps, `loss ${p.loss.toFixed(4)}${p.agreement == null ? '' : `, validation agreement ${(100 * p.agreement).toFixed(1)}%`}`),
  });
  const distilled = await onHeldOut();
  const kept = chooseStudent(report.validationBefore, report.validationAfter);
  if (kept === 'closed-form') restore();
  return { ...report, kept, heldOut: { closedForm, distilled } };
}

/** Runs an optional stage; if it cannot run on this model (DEGRADES), the job goes on without it and says why. */
async function optionalStage<T>(name: string, options: CompressOptions, run: () => Promise<T>): Promise<T | { skipped: string }> {
  try {
    return await run();
  } catch (e) {
    if (!DEGRADES.some((code) => isFtmError(e, code))) throw e;
    return skip(name, `${(e as Error).message} (${(e as { code: string }).code})`, options);
  }
}

/**
 * `plan` (made on parameters alone) with its model's timing, if that model, built with the rule's data-free start, is
 * not timed slower than the original beyond LATENCY_NOISE at batch 1 or at the larger batch: a fit changes values,
 * not the time. Else undefined, and the caller times each candidate layer alone. One timing of the whole model
 * decides for all layers: timings of single layers swing far more on a loaded machine (a 3×3 conv of the fixture
 * timed 0.69× in one run and 1.45× in another), and each would be a chance for the same inputs to give another model.
 */
async function draftIfNotSlower(model: Model, rules: readonly AnyRule[], plan: Plan, calib: CalibrationSet, latency: { threads: number; batchSize: number }): Promise<(Plan & { draftLatency: LatencyComparison }) | undefined> {
  const assignments = planAssignments(plan, rules[0]);
  if (!Object.keys(assignments).length) return undefined;
  const draft = applyRules(model, [...rules], { assignments, finalize: true }).model;
  const timing = await compareLatency(model, draft, calib, latency);
  return slowerBatches(timing).length ? undefined : { ...plan, draftLatency: timing };
}

/** Rounds of timing a mixed plan: each takes out the rules timed slower at their layers, and plans again. */
const MIXED_LATENCY_ROUNDS = 3;

/**
 * A mixed plan whose draft is not timed slower than the original (draftIfNotSlower). When it is, each chosen layer is
 * timed alone against its rewrite at its setting; a layer timed slower loses the choices of that rule (another rule
 * may be faster there: low-rank's two convs cost a tiny layer more than FTM's), and the plan is made again, for a few
 * rounds. The final whole-model check of the job still judges the result.
 */
async function mixedWithoutSlower(model: Model, rules: readonly AnyRule[], first: Plan, measured: readonly MixedCandidate[], options: MixedPlanOptions, calib: CalibrationSet, latency: { threads: number; batchSize: number }): Promise<Plan & { draftLatency?: LatencyComparison }> {
  let [plan, candidates] = [first, measured];
  const timings: LayerTiming[] = [];
  for (let round = 0; round < MIXED_LATENCY_ROUNDS; round++) {
    const draft = await draftIfNotSlower(model, rules, plan, calib, latency);
    if (draft) return { ...draft, objective: 'params', ...(timings.length ? { latency: timings } : {}) };
    const timed: LayerTiming[] = [];
    for (const { rule, options: ruleOptions, layers } of assignmentGroups(planAssignments(plan, rules[0]), rules)) {
      timed.push(...(await timeLayerRewrites(model, rule, layers, ruleOptions, { threads: latency.threads, edges: [verdictEdge('params')] })));
    }
    timings.push(...timed);
    const judged = plan.layers.map((l) => ({ ...l }));
    judgeLatency(judged, timed, 'params');
    const slower = new Map(judged.filter((l) => leftOutForLatency(l.reason)).map((l) => [l.layer, l.rule]));
    if (!slower.size) break;
    candidates = candidates.map((c) => {
      if (!slower.has(c.layer)) return c;
      const choices = c.choices.filter((x) => x.rule !== slower.get(c.layer));
      return { ...c, choices, ...(choices.length ? {} : { reason: SLOWER }) };
    });
    plan = planMixed(candidates, options);
  }
  return { ...plan, objective: 'params', latency: timings };
}

/**
 * The steps to distil for: as asked (steps or a time budget: undefined, distill decides), else the default budget for
 * the model's cost at the size of the calibration samples and for the number it trains on (defaultDistillBudget), or
 * why it is skipped.
 */
function distillBudget(model: Model, fitSet: CalibrationSet, settings: CompressDistillOptions, batchSize: number): { steps: number | undefined } | { skipped: string } {
  if (settings.steps !== undefined || settings.seconds !== undefined) return { steps: undefined };
  const batch = Math.min(settings.batchSize ?? batchSize, fitSet.count);
  return defaultDistillBudget(convMacsPerSample(model.graph, fitSet.inputName, fitSet.sampleShape), batch, fitSet.count);
}

const isRuleList = (rule: CompressOptions['rule']): rule is readonly AnyRule[] => Array.isArray(rule);

export interface RuleChoice {
  /** The mixed plan's trial fits over the fallback's fits, in estimated work (mixedTrialShare). */
  trialShare: number;
  /** The share above which the fallback plans. */
  above: number;
  /** The fallback rule's name. */
  fallback: string;
  chosen: 'mixed' | 'fallback';
}

function chooseMixedOrFallback(model: Model, rules: readonly AnyRule[], profiles: readonly LayerProfile[], fallback: NonNullable<CompressOptions['fallback']>): RuleChoice {
  const trialShare = mixedTrialShare(model, rules, profiles);
  return { trialShare, above: fallback.above, fallback: fallback.rule.name, chosen: trialShare > fallback.above ? 'fallback' : 'mixed' };
}

/** A bad rule option is refused before profiling; a mixed plan chooses each layer's options itself, on parameters. */
function checkRuleChoice(options: CompressOptions, rules: readonly AnyRule[]): void {
  const { fallback } = options;
  if (fallback && !isRuleList(options.rule)) throw ftmError('E_USAGE', `a fallback rule stands in for a mixed plan; found the single rule "${options.rule.name}"`);
  if (fallback && !(fallback.above >= 1)) throw ftmError('E_USAGE', `expected the fallback's share limit to be at least 1 (the mixed plan's trials never cost less than one fit), found ${fallback.above}`);
  if (!isRuleList(options.rule)) {
    resolveOptions(options.rule, options.ruleOptions ?? {});
    return;
  }
  if (!rules.length) throw ftmError('E_USAGE', 'expected at least one rule for the mixed plan, found none');
  const given = Object.keys(options.ruleOptions ?? {});
  if (given.length) throw ftmError('E_USAGE', `the mixed plan chooses each layer's rule options itself; found ${given.join(', ')} set (give a single rule to set them)`);
  if (options.objective && options.objective !== 'params') throw ftmError('E_USAGE', `the mixed plan plans on parameters (objective "params"), found "${options.objective}"`);
}

function skip(name: string, reason: string, options: CompressOptions): { skipped: string } {
  options.onWarning?.(`${name} skipped: ${reason}`);
  return { skipped: reason };
}

function layerSummaries(plan: Plan, records: readonly RewriteRecord[], profiled: { layer: string; score: number; params: number }[], fitted: { layer: string; errorBefore: number; errorAfter: number }[]): LayerSummary[] {
  // What the driver did, not what the plan meant: a rewrite the plan chose can still be declined with the profile's
  // statistics or refused, and the summary must describe the emitted model.
  const notApplied = new Map(records.filter((r) => r.status !== 'fired').map((r) => [r.node, `${r.status}: ${r.reason ?? ''}`]));
  const redundancy = new Map(profiled.map((l) => [l.layer, l.score]));
  // A rewrite may fit several layers (prune refits each consumer): the summary shows the worst.
  const errors = new Map<string, { errorBefore: number; errorAfter: number }>();
  for (const f of fitted) {
    const seen = errors.get(f.layer);
    if (!seen || f.errorAfter > seen.errorAfter) errors.set(f.layer, f);
  }
  return plan.layers.map((l) => {
    const before = profiled.find((p) => p.layer === l.layer)?.params ?? l.removed;
    const fit = errors.get(l.layer);
    const applied = l.rewrite && !notApplied.has(l.layer);
    const reason = l.rewrite && !applied ? notApplied.get(l.layer) : l.reason;
    return {
      layer: l.layer,
      rewritten: applied,
      ...(reason ? { reason } : {}),
      redundancy: redundancy.get(l.layer) ?? null,
      ...(applied && l.rule ? { rule: l.rule, ruleOptions: l.ruleOptions } : {}),
      // A rewrite that takes other layers with it (prune: its consumers) counts theirs too.
      paramsBefore: applied ? l.removed : before,
      paramsAfter: applied ? l.added : before,
      ...(fit ? { errorBefore: fit.errorBefore, errorAfter: fit.errorAfter } : {}),
    };
  });
}

/** The similarity map of the layer asked for, with the grouping its rule's stats hook gives at its planned options
 * (a layer not rewritten: the first rule's defaults). */
function chosenSimilarity(model: Model, profile: ModelProfile, rules: readonly AnyRule[], assignments: Record<string, LayerAssignment>, wanted: true | string): SimilarityMap | undefined {
  const layer = mapLayer(profile.layers, wanted === true ? undefined : wanted, (l) => l.layer in assignments);
  if (!layer) return undefined;
  const assigned = assignments[layer.layer];
  const rule = rules.find((r) => r.name === assigned?.rule) ?? rules[0];
  return similarityMap(layerReport(model, layer, rule, assigned?.options ?? {}, DEFAULT_THRESHOLD));
}

/**
 * A model whose outputs are NaN or infinite is of no use to anyone, whatever the gates say: refuse it (nothing is
 * written) rather than hand it back with a 0% in the report. A finite but poor model is the gates' business.
 */
function refuseNonFinite(agreement: readonly OutputAgreement[], fitted: number, heldOut: number, where: string | undefined): void {
  const broken = agreement.filter((a) => !Number.isFinite(a.relativeError));
  if (!broken.length) return;
  const outputs = broken.map((a) => `"${a.output}"`).join(', ');
  throw ftmError(
    'E_FIT_UNSTABLE',
    `expected the compressed model's outputs to be finite, found non-finite values in ${outputs} on the ${heldOut} held-out samples: the layers fitted on ${fitted} samples do not carry over to new inputs; give more calibration images, or a milder --target-ratio`,
    where,
  );
}
