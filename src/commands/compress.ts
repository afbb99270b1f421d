import { basename, dirname, extname, join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ftm } from '../../rewrites/index.js';
import { compressModel, DEFAULT_HOLDOUT, type CompressReport, type Stage } from '../compress/compress.js';
import { DEFAULT_DISTILL_LR, DEFAULT_DISTILL_STEPS } from '../distill/distill.js';
import { DEFAULT_DISTILL_WORK, REFERENCE_MACS, REFERENCE_SAMPLES, STEP_OVERHEAD } from '../distill/budget.js';
import { MIN_WARMUP_STEPS } from '../distill/schedule.js';
import { MIN_RELIABLE_SAMPLES } from '../compress/agreement.js';
import { formatCompressReport } from '../compress/format.js';
import { setAsideCount } from '../compress/split.js';
import { ftmError } from '../errors.js';
import { loadModel } from '../onnx/load.js';
import { modelFiles } from '../onnx/save.js';
import { checkOutputs } from '../output/check.js';
import { writeOutputs } from '../output/transaction.js';
import { compressPage } from '../html/compress-page.js';
import { selectLayers } from '../profile/layers.js';
import { resolveOptions } from '../rewrite/options.js';
import { LATENCY_NOISE, OBJECTIVES, slowerBatches, type Objective } from '../plan/latency-verdict.js';
import { compareLatency, MAX_LATENCY_BATCH, type LatencyComparison } from '../runtime/latency.js';
import type { CalibrationSet } from '../calib/types.js';
import type { Model } from '../ir/model.js';
import { calibrationFromArgs, withCalibOptions, type CalibArgs } from './calib-options.js';
import { progressReporter, type Progress } from './progress.js';
import { AUTO, AUTO_SHARE_LIMIT, autoRules, MIXED, MIXED_RULES, namedRule, ruleOptionsFromArgs, tunableRules, withRuleOptions, type RuleArgs } from './rule-options.js';

interface CompressArgs extends CalibArgs, RuleArgs {
  model: string;
  targetRatio: number;
  rule: string;
  include?: string[];
  exclude?: string[];
  bestEffort: boolean;
  holdout: number;
  threads?: number;
  batchSize: number;
  output?: string;
  report?: string;
  force: boolean;
  maxOutputError?: number;
  minAgreement?: number;
  distill: boolean;
  distillSteps?: number;
  distillTime?: number;
  distillLr: number;
  train: string;
  augment?: boolean;
  featureWeight?: number;
  distillKeep: string;
  html?: string;
  htmlLayer?: string;
  latency: boolean;
  maxLatencyRatio?: number;
  objective: string;
  allowSlower: boolean;
  quiet: boolean;
  json: boolean;
}

const defaultOutput = (model: string) => join(dirname(model), `${basename(model, extname(model))}.ftm.onnx`);

export const compressCommand: CommandModule<object, CompressArgs> = {
  command: ['$0 <model>', 'compress <model>'],
  describe: 'Compress a model to a target parameter ratio: profile, plan, rewrite, fit on calibration data',
  builder: (y) =>
    withCalibOptions(
      withRuleOptions(y, `default: the smallest of ${ftm.meta.knob!.values.join(', ')} that reaches the target`)
        .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
        .option('target-ratio', { type: 'number', demandOption: true, describe: 'compressed parameters / original parameters, in (0, 1]' })
        .option('rule', {
          type: 'string',
          default: AUTO,
          choices: [AUTO, MIXED, ...tunableRules()],
          describe:
            `how layers are rewritten: ${MIXED}: per layer, the setting of ${MIXED_RULES.join(' or ')} with the least fit error for the parameters it saves; a built-in rule with a knob the planner turns to reach the target; ` +
            `${AUTO}: ${MIXED}, unless its trial fits would cost more than ${AUTO_SHARE_LIMIT}× the work of ftm's fits (wide layers on few images), or rule options or a latency objective are given: then ftm`,
        })
        .option('include', { type: 'string', array: true, describe: 'only these layers may be rewritten (node names)' })
        .option('exclude', { type: 'string', array: true, describe: 'never rewrite these layers' })
        .option('best-effort', { type: 'boolean', default: false, describe: 'accept the closest reachable ratio when the target cannot be reached' })
        .option('holdout', { type: 'number', default: DEFAULT_HOLDOUT, describe: 'share of calibration samples held out to measure agreement' })
        .option('threads', { type: 'number', describe: 'onnxruntime threads (default: all cores)' })
        .option('batch-size', { type: 'number', default: 64, describe: 'samples per onnxruntime run' })
        .option('output', { alias: 'o', type: 'string', describe: 'compressed model path (default <model>.ftm.onnx)' })
        .option('report', { type: 'string', describe: 'write the full report as JSON to this file' })
        .option('html', { type: 'string', describe: 'write the report as one self-contained HTML page (charts, similarity map, latency before/after)' })
        .option('html-layer', { type: 'string', describe: 'the layer whose channel-similarity map the report keeps (default with --html: the most redundant rewritten layer)' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines on stderr' })
        .option('json', { type: 'boolean', default: false, describe: 'print the report as one JSON object on stdout (what --report writes) instead of the text summary' })
        .option('force', { type: 'boolean', default: false, describe: 'allow overwriting the input model' })
        .option('max-output-error', { type: 'number', describe: 'exit non-zero (80) when the held-out relative output error is above this' })
        .option('min-agreement', { type: 'number', describe: 'exit non-zero (80) when held-out top-1 agreement is below this (0..1)' })
        .option('latency', { type: 'boolean', default: true, describe: 'time each candidate layer against its rewrite before planning, and the original and the compressed model after, on onnxruntime at batch 1 and at min(--batch-size, 32) (--no-latency: off; the plan is then on parameters alone)' })
        .option('max-latency-ratio', { type: 'number', describe: `exit non-zero (80) when the compressed model's median latency over the original's is above this, at batch 1 or at the larger batch (default ${1 + LATENCY_NOISE}: never slower, allowing for timing noise; --allow-slower: no limit)` })
        .option('objective', { type: 'string', default: 'params', choices: OBJECTIVES, describe: 'params: land on --target-ratio without rewrites timed slower than their layer; latency: rewrite every layer whose rewrite is timed faster, and no other (--target-ratio is a ceiling); both: land on --target-ratio with faster rewrites only' })
        .option('allow-slower', { type: 'boolean', default: false, describe: 'params at any cost: plan on parameters alone (rewrites slower than their layer too) and accept a compressed model slower than the original' })
        .option('distill', { type: 'boolean', default: true, describe: 'end-to-end distillation after the closed-form fit (--no-distill: off)' })
        .option('distill-steps', { type: 'number', describe: `distillation steps (default: the work of ${DEFAULT_DISTILL_STEPS} steps of 64 samples at ${REFERENCE_MACS / 1e6} M Conv MACs per sample, with a fixed overhead per step: more steps on cheaper models, at most ${Math.floor(DEFAULT_DISTILL_WORK / STEP_OVERHEAD)}, proportionally fewer on costlier ones; times √(training samples / ${REFERENCE_SAMPLES}) beyond ${REFERENCE_SAMPLES} training samples (256 images); skipped when that is fewer than ${MIN_WARMUP_STEPS})` })
        .option('distill-time', { type: 'number', describe: 'distillation time budget in seconds (stops at the first of steps and time; the result then depends on the machine)' })
        .option('distill-lr', { type: 'number', default: DEFAULT_DISTILL_LR, describe: 'peak learning rate of the distillation, relative to each weight tensor\'s RMS (warm-up, then cosine decay)' })
        .option('train', { type: 'string', default: 'rewritten', choices: ['rewritten', 'all'], describe: 'what distillation trains: the new weights of rewritten layers, or every float weight' })
        .option('feature-weight', { type: 'number', describe: 'add MSE of each rewritten layer\'s output against the original\'s, with this weight (default 0: off)' })
        .option('distill-keep', { type: 'string', default: 'last', choices: ['last', 'best'], describe: 'keep the last parameters, or those with the lowest validation loss (early stopping); either way the job keeps the closed-form fit if distillation did not beat it' })
        .option('augment', { type: 'boolean', describe: 'flip and shift training images during distillation (default: on for image folders, off for .npy)' }),
    ) as unknown as Argv<CompressArgs>,
  handler: async (args) => {
    checkLatencyArgs(args);
    const ruleOptions = ruleOptionsFromArgs(args);
    // auto with rule options or a latency objective is ftm: the mixed plan sets each layer's options, on parameters.
    const auto = args.rule === AUTO && !Object.keys(ruleOptions).length && args.objective === 'params';
    const { rule, fallback } = auto ? autoRules() : { rule: namedRule(args.rule === AUTO ? 'ftm' : args.rule), fallback: undefined };
    // A bad option is refused before any work.
    if (!Array.isArray(rule)) resolveOptions(rule, ruleOptions);
    else if (Object.keys(ruleOptions).length) throw ftmError('E_USAGE', `--rule ${MIXED} chooses each layer's options itself; found ${Object.keys(ruleOptions).join(', ')} set (give --rule ftm or lowrank to set them)`);
    const model = loadModel(args.model);
    const outputShape = model.graph.outputs[0]?.shape;
    if (args.minAgreement !== undefined && outputShape && outputShape.length !== 2) {
      throw ftmError('E_USAGE', `--min-agreement needs a classifier output [N, K]; "${model.graph.outputs[0].name}" has rank ${outputShape.length}`, args.model);
    }
    const output = args.output ?? defaultOutput(args.model);
    // Every output is checked before any work, and all are written together at the end, or none.
    const outputs = [
      { path: output, what: 'model', mayReplaceInput: args.force },
      ...(args.report ? [{ path: args.report, what: 'report' }] : []),
      ...(args.html ? [{ path: args.html, what: 'page' }] : []),
    ];
    checkOutputs(outputs, model.path);
    if (args.htmlLayer !== undefined) selectLayers(model, [args.htmlLayer]);
    const calib = await calibrationFromArgs(args, model);
    checkGateSamples(args, calib.count);
    const bars = new Map<Stage, Progress>();
    const { model: compressed, report } = await compressModel(model, calib, {
      targetRatio: args.targetRatio,
      rule,
      ruleOptions,
      ...(fallback ? { fallback } : {}),
      include: args.include,
      exclude: args.exclude,
      bestEffort: args.bestEffort,
      objective: args.objective as Objective,
      // Without the measurement, nothing is timed: the plan is on parameters alone.
      allowSlower: args.allowSlower || !args.latency,
      holdout: args.holdout,
      seed: args.seed,
      threads: args.threads,
      batchSize: args.batchSize,
      distill: args.distill && {
        steps: args.distillSteps,
        seconds: args.distillTime,
        lr: args.distillLr,
        train: args.train as 'rewritten' | 'all',
        augment: args.augment,
        featureWeight: args.featureWeight,
        keep: args.distillKeep as 'last' | 'best',
      },
      similarity: args.htmlLayer ?? (args.html ? true : undefined),
      onWarning: (message) => process.stderr.write(`ftm-compress: warning: ${message}\n`),
      onProgress: args.quiet ? undefined : (stage, fraction, detail) => {
        const bar = bars.get(stage) ?? progressReporter(stage, '%');
        bars.set(stage, bar);
        bar.update(Math.round(fraction * 100), 100, stage === 'distill' ? detail : undefined);
        if (fraction >= 1) bar.stop();
      },
    });
    const latency = args.latency ? await timeBoth(model, compressed, calib, args) : undefined;
    const full = { model: args.model, output, ...report, ...(latency ? { latency } : {}) };
    writeOutputs([
      ...modelFiles(compressed, output),
      ...(args.report ? [{ path: args.report, what: 'report', data: `${JSON.stringify(full, jsonNumbers, 2)}\n` }] : []),
      ...(args.html ? [{ path: args.html, what: 'page', data: compressPage(full) }] : []),
    ]);
    const wrote = `wrote ${[output, args.report, args.html].filter(Boolean).join(', ')}\n`;
    if (args.json) {
      process.stdout.write(`${JSON.stringify(full, jsonNumbers)}\n`);
      if (!args.quiet) process.stderr.write(wrote);
    } else {
      process.stdout.write(`${formatCompressReport(full)}\n${wrote}`);
    }
    checkGates(report, latency, args);
  },
};

/** JSON has no Infinity: an exact output (PSNR +∞) is written as null. */
const jsonNumbers = (_: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/**
 * A gate judges the model on the held-out samples: with fewer than MIN_RELIABLE_SAMPLES of them it would pass or fail
 * on noise (one sample reads as 0% or 100% agreement), so it refuses before any work. The count follows from the
 * calibration count and --holdout alone.
 */
function checkGateSamples(args: CompressArgs, calibCount: number): void {
  const gates = [args.maxOutputError !== undefined && '--max-output-error', args.minAgreement !== undefined && '--min-agreement'].filter(Boolean);
  const heldOut = setAsideCount(calibCount, args.holdout);
  if (!gates.length || heldOut >= MIN_RELIABLE_SAMPLES) return;
  const needed = Math.ceil((MIN_RELIABLE_SAMPLES - 0.5) / args.holdout);
  throw ftmError(
    'E_GATE_TOO_FEW_SAMPLES',
    `${gates.join(' and ')} ${gates.length > 1 ? 'need' : 'needs'} at least ${MIN_RELIABLE_SAMPLES} held-out samples to judge by; ${calibCount} calibration samples with --holdout ${args.holdout} hold out ${heldOut} ` +
      `(give at least ${needed} samples, or a larger --holdout)`,
  );
}

/** Seconds per model and batch size when the compressed model is timed again before the default limit fails it. */
const CONFIRM_SECONDS = 3;

/**
 * Times the original and the compressed model. Under the default limit (never slower), a first timing above it is
 * taken again with a longer budget before the job fails for it: on a loaded machine a short timing can be off by more
 * than the noise band (bench/latency.md), and the user did not ask for a latency gate.
 */
async function timeBoth(model: Model, compressed: Model, calib: CalibrationSet, args: CompressArgs): Promise<LatencyComparison> {
  const options = { threads: args.threads, batchSize: Math.min(args.batchSize, MAX_LATENCY_BATCH) };
  const first = await compareLatency(model, compressed, calib, options);
  const slower = slowerBatches(first);
  if (args.maxLatencyRatio !== undefined || args.allowSlower || !slower.length) return first;
  const at = slower.map((l) => `${l.ratio.toFixed(2)}× at batch ${l.batch}`).join(', ');
  // progress, not a verdict (a model still slower fails the job with its own error): --quiet leaves it out
  if (!args.quiet) process.stderr.write(`ftm-compress: warning: the compressed model timed ${at} the original's time; timing both again, ${CONFIRM_SECONDS} s each, before judging\n`);
  return compareLatency(model, compressed, calib, { ...options, seconds: CONFIRM_SECONDS });
}

/** A latency gate or objective needs the measurement, and a ratio of 0 or less could never pass. */
function checkLatencyArgs(args: CompressArgs): void {
  if (args.objective !== 'params' && !args.latency) throw ftmError('E_USAGE', `--objective ${args.objective} needs the latency measurement; --no-latency turns it off`);
  if (args.objective !== 'params' && args.allowSlower) throw ftmError('E_USAGE', `--allow-slower plans on parameters alone; --objective ${args.objective} needs each layer timed`);
  if (args.maxLatencyRatio === undefined) return;
  if (!(args.maxLatencyRatio > 0)) throw ftmError('E_USAGE', `expected --max-latency-ratio to be a positive number, found ${args.maxLatencyRatio}`);
  if (!args.latency) throw ftmError('E_USAGE', '--max-latency-ratio needs the latency measurement; --no-latency turns it off');
}

function checkGates(report: CompressReport, latency: LatencyComparison | undefined, args: CompressArgs): void {
  const first = report.agreement[0];
  const failures: string[] = [];
  if (args.maxOutputError !== undefined && first.relativeError > args.maxOutputError) {
    failures.push(`held-out relative output error ${first.relativeError.toFixed(4)} > --max-output-error ${args.maxOutputError}`);
  }
  if (args.minAgreement !== undefined) {
    if (first.top1Agreement === null) throw ftmError('E_USAGE', `--min-agreement needs a classifier output ([N, K]); "${first.output}" is not one`);
    if (first.top1Agreement < args.minAgreement) failures.push(`held-out top-1 agreement ${first.top1Agreement.toFixed(4)} < --min-agreement ${args.minAgreement}`);
  }
  // Never slower by default: a compressed model timed slower than the original, beyond timing noise, fails like a gate.
  const ceiling = args.maxLatencyRatio ?? (args.allowSlower ? undefined : 1 + LATENCY_NOISE);
  const asked = args.maxLatencyRatio === undefined ? `${ceiling}: slower than the original (never slower by default, allowing for timing noise; --allow-slower accepts it)` : `--max-latency-ratio ${ceiling}`;
  for (const l of ceiling === undefined ? [] : [latency?.batch1, latency?.batchN]) {
    if (l && l.ratio > ceiling!) failures.push(`latency ratio at batch ${l.batch} ${l.ratio.toFixed(3)} (${l.compressedMs.toFixed(3)} / ${l.originalMs.toFixed(3)} ms) > ${asked}`);
  }
  if (failures.length) throw ftmError('E_GATE_FAILED', `quality gate failed: ${failures.join('; ')} (the model and report were written for inspection)`);
}
