import { availableParallelism } from 'node:os';
import { observeShapes } from '../runtime/observe-shapes.js';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { modelUpTo } from '../runtime/capture.js';
import { buildTrainingGraph } from '../grad/training-graph.js';
import type { Model } from '../ir/model.js';
import type { RewriteRecord } from '../rewrite/driver.js';
import { Runner, type FloatTensor } from '../runtime/session.js';
import { Adam } from './adam.js';
import { Augmenter } from './augment.js';
import { BatchCycler, looksLikeImages, readAll } from './data.js';
import { featurePairs, type FeaturePair } from './features.js';
import { betterScore, HeldOutEvaluator, type HeldOutScore, type LossSpec } from './held-out.js';
import { DivergenceWatch } from './divergence.js';
import { lossValue } from './loss-value.js';
import { tensorLrScales } from './lr-scale.js';
import { cosineLr, MIN_WARMUP_STEPS, stepProgress, warmupShare } from './schedule.js';
import { trainableNames } from './trainable.js';

/**
 * The step budget when neither `steps` nor `seconds` is given: on the fixture it keeps the whole main job near issue
 * 5's one-minute target (measured: bench/distill-results.md, `--calib 256`). A step budget, unlike a time budget,
 * gives the same result on any machine. The main job scales it down on costlier models (src/distill/budget.ts).
 */
export const DEFAULT_DISTILL_STEPS = 600;

/** The peak learning rate, relative to each tensor's RMS (see tensorLrScales; measured in bench/distill-results.md and bench/trust.md). */
export const DEFAULT_DISTILL_LR = 1e-2;

/** Divergence: the training loss above this many times the starting loss, for DIVERGENCE_PATIENCE of the step budget
 * (at least 3 steps; 10 with a time budget only, whose steps are not known in advance). */
const DIVERGENCE_FACTOR = 4;
const DIVERGENCE_PATIENCE = 0.05;
/**
 * The smallest starting loss divergence is judged against, relative to the teacher output's mean square: both losses
 * are about a mean squared logit difference (T²·KL is half the centred one, for small differences).
 */
const DIVERGENCE_FLOOR = 1e-6;
/** Divergences after which training restarts from the best parameters at a lower rate; the next one stops it. */
const MAX_RESTARTS = 2;
/** At each restart the peak rate is divided by this. */
const RESTART_BACKOFF = 4;

export interface DistillOptions {
  /** Optimizer steps to take. With `seconds` too, training stops at whichever comes first. */
  steps?: number;
  /** Wall-clock budget for the training loop, evaluations included. A time budget makes the number of steps, and so
   * the result, depend on the machine. With neither, DEFAULT_DISTILL_STEPS steps. */
  seconds?: number;
  /** Samples per step (default 64; the whole set when it is smaller). */
  batchSize?: number;
  /** Peak learning rate of Adam relative to each tensor's RMS (default DEFAULT_DISTILL_LR: a step moves each element by
   * about 1% of its tensor's RMS), reached after a linear warm-up, then cosine decay to 0. Divided by RESTART_BACKOFF at each
   * restart after a divergence. */
  lr?: number;
  /** Share of training spent warming up (default warmupShare of the step budget: 5%, at least 25 steps). */
  warmup?: number;
  /** Decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Softmax temperature of the KL loss (default 4); the loss is scaled by T². */
  temperature?: number;
  /** Default: kl when the output is [N, K] with K > 1, else mse. */
  loss?: 'kl' | 'mse';
  /** Weight of the feature MSE on the outputs of the rewritten layers, relative to the output loss (default 0: off).
   * Each layer's term is normalized by the teacher feature's mean square, and the terms share the weight. */
  featureWeight?: number;
  /** rewritten: the new parameters of the rewritten layers (default); all: every float initializer; or the names of
   * the initializers to train. */
  train?: 'rewritten' | 'all' | readonly string[];
  /** Random flips and shifts of ≤ 2 px (default: on for [C, H, W] samples read from image files, off otherwise). */
  augment?: boolean;
  /**
   * Which parameters to keep: `last` (default), those after the last step, the validation samples only monitoring the
   * training; `best`, those of the evaluation with the lowest validation loss, the starting ones included (early
   * stopping). After a divergence, always the best.
   */
  keep?: 'last' | 'best';
  /** With augmentation: mix each sample with another of its batch (mixup; see Augmenter). Default true. */
  mix?: boolean;
  seed?: number;
  threads?: number;
  /** Steps between held-out evaluations (default: max(25, 10 × held-out batches)). */
  evalEvery?: number;
  /** The student output the loss reads (default: its first graph output; the teacher's output of the same name). */
  output?: string;
  onProgress?(p: DistillProgress): void;
}

export interface DistillProgress {
  step: number;
  /** The step budget, or an estimate from the time budget and the speed so far. */
  steps: number;
  seconds: number;
  /** Mean training loss since the last evaluation. */
  loss: number;
  lr: number;
  /** The latest validation top-1 agreement (classifiers), when evaluated. */
  agreement?: number | null;
  /** The latest validation loss, when evaluated. */
  validationLoss?: number;
}

export interface DistillTiming {
  /** The training loop's wall time, evaluations included. */
  seconds: number;
  stepsPerSecond: number;
  /**
   * One forward pass of the student on a training batch with the trainables fed as inputs, as the training graph has
   * them (slower than the emitted model, whose weights are constants), median ms.
   */
  forwardMs: number;
  /** Mean wall time per step (next batch, augmentation, teacher, forward + backward, Adam), evaluations excluded. */
  stepMs: number;
  /** Where a step's time goes, mean ms per step. */
  stepBreakdown: { data: number; augment: number; teacher: number; train: number; optimizer: number };
  evaluationSeconds: number;
}

export interface DistillReport {
  steps: number;
  /** Wall-clock measurements: the only part of the report that differs between two runs of the same inputs. */
  timing: DistillTiming;
  batchSize: number;
  /** The peak rate asked for. */
  lr: number;
  /** The peak rate trained at last: `lr`, divided by RESTART_BACKOFF at each restart. */
  peakLr: number;
  /** Divergences that did not stop training: each restarted from the best parameters evaluated, at a lower rate. */
  restarts: { step: number; reason: string; peakLr: number; fromStep: number }[];
  /** The loss, the value it reads, and why that is not the graph output when it is not (a final softmax). */
  loss: LossSpec & { reads: string; note?: string };
  augment: boolean;
  /** Feature MSE terms: student value vs teacher value. */
  features: FeaturePair[];
  /** Initializers trained, and how many values they hold. */
  trainable: string[];
  trainableParams: number;
  /** Trainables the training graph leaves frozen, with why. */
  frozen: { name: string; reason: string }[];
  /** The first step's loss, then the mean training loss over each stretch between evaluations. */
  initialLoss: number;
  lossCurve: { step: number; loss: number }[];
  /** Validation scores: before training (step 0) and at each evaluation. */
  evaluations: ({ step: number } & HeldOutScore)[];
  /** Of the starting parameters. */
  validationBefore: HeldOutScore;
  /** Of the parameters kept. */
  validationAfter: HeldOutScore;
  keep: 'last' | 'best';
  /** The step whose parameters were kept (with `best` or after a divergence, 0 when training never beat the start). */
  keptStep: number;
  /** Warm-up steps (the share of the budget times the budget; a time budget's are an estimate). */
  warmupSteps: number;
  /** Training stopped because the loss stopped being finite or stayed far above the starting loss (see
   * `divergence`) after MAX_RESTARTS restarts; the best parameters seen before were kept. */
  diverged: boolean;
  divergence?: { step: number; reason: string };
  /** Why no step was taken: the starting loss is already at the floor (the student matches the teacher). */
  untrained?: string;
}

/**
 * Knowledge distillation of a rewritten student towards its teacher, on onnxruntime: the student's training graph
 * (src/grad: loss and gradients as one ONNX graph) is built and loaded once; each step takes the next batch of the
 * calibration samples (seeded shuffled order, optionally flipped and shifted), the teacher's outputs on it, runs the
 * training graph with the current parameters fed as inputs, and updates them with Adam on a cosine schedule. Every
 * `evalEvery` steps the validation samples score the parameters (loss and top-1 agreement with the teacher). Each
 * tensor's learning rate is relative to its RMS (tensorLrScales). A loss that stops being finite or stays far above
 * the starting loss stops training (DivergenceWatch). At the end, the last parameters (or, with `keep: 'best'` or after
 * a divergence, the best scoring ones, the starting ones included) are written into the student's initializers.
 *
 * The student stays a plain inference model: only the data of its trained initializers changes.
 */
export async function distill(teacher: Model, student: Model, records: readonly RewriteRecord[], calib: CalibrationSet, validation: CalibrationSet, options: DistillOptions = {}): Promise<DistillReport> {
  const threads = options.threads ?? availableParallelism();
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 64;
  const baseLr = options.lr ?? DEFAULT_DISTILL_LR;
  const temperature = options.temperature ?? 4;
  const timeBudget = options.seconds;
  const stepBudget = options.steps ?? (timeBudget === undefined ? DEFAULT_DISTILL_STEPS : undefined);
  checkDistillOptions(options);
  if (calib.count === 0) throw ftmError('E_CALIB_EMPTY', 'no calibration samples to distill on');
  if (validation.count === 0) throw ftmError('E_CALIB_EMPTY', 'no validation samples to evaluate the distillation on');
  if (calib.inputName !== validation.inputName) throw ftmError('E_USAGE', `the training samples feed "${calib.inputName}", the validation samples "${validation.inputName}"`);

  const graphOutput = options.output ?? student.graph.outputs[0]?.name;
  if (!graphOutput || !teacher.graph.lookup(graphOutput)) throw ftmError('E_USAGE', `expected the teacher and the student to have an output "${graphOutput}"`, student.path);
  // An explicit output is read as asked; the default one is read before a final softmax.
  const reads = options.output ? { value: graphOutput } : lossValue(teacher, student, graphOutput);
  const output = reads.value;
  const names = trainableNames(student, records, options.train ?? 'rewritten');
  // Nothing to train is a property of the model, not a misuse: callers that can do without distillation degrade on it.
  if (!names.length) throw ftmError('E_UNSUPPORTED', options.train === 'all' ? 'the student has no float initializers to train' : 'no rewritten layer has parameters to train (did any rewrite fire?)', student.path);

  const featureWeight = options.featureWeight ?? 0;
  const features = featureWeight > 0 ? featurePairs(teacher, student, records) : [];
  // Teacher, augmenter and training graph take turns every step: none of their sessions spins (see RunnerOptions).
  const session = { threads, spin: false };
  const teacherRunner = await Runner.create(modelUpTo(teacher, [output, ...features.map((f) => f.teacher)]), session);
  const cleanup: { release(): Promise<void> }[] = [teacherRunner];
  try {
    const batches = await BatchCycler.create(calib, batchSize, seed);
    const augment = options.augment ?? (await looksLikeImages(calib));
    const augmenter = augment ? await Augmenter.create(calib.sampleShape, { ...session, seed: seed + 1, mix: options.mix ?? true }) : undefined;
    if (augmenter) cleanup.push(augmenter);

    // A probe batch (the first samples): the output's shape decides the loss, feature terms their scale.
    const probeCount = Math.min(batchSize, calib.count);
    const probe = { data: await readAll(calib.subset(Array.from({ length: probeCount }, (_, i) => i))), count: probeCount };
    const probeOut = await teacherRunner.run({ [calib.inputName]: { data: probe.data, dims: [probe.count, ...calib.sampleShape] } });
    const outDims = probeOut[output].dims;
    const kind = options.loss ?? (outDims.length === 2 && outDims[1] > 1 ? 'kl' : 'mse');
    const loss: LossSpec = kind === 'kl' ? { kind: 'kl', temperature } : { kind: 'mse' };
    const featureTerms = features.map((f) => ({ value: f.student, weight: featureWeight / features.length / Math.max(meanSquare(probeOut[f.teacher].data as Float32Array), 1e-12) }));

    const forward = modelUpTo(student, [output]);
    const shapes = await observeShapes(forward, calib.inputName, { data: probe.data, dims: [probe.count, ...calib.sampleShape] }, session);
    const training = buildTrainingGraph(forward, { trainable: names, loss, output, shapes, ...(featureTerms.length ? { features: featureTerms } : {}) });
    if (!training.trainable.length) {
      const [first] = training.frozen;
      throw ftmError('E_UNSUPPORTED', `no parameter can be trained: all ${training.frozen.length} are frozen, e.g. "${first.name}": ${first.reason}`, student.path);
    }
    const trainer = await Runner.create(training.model, session);
    cleanup.push(trainer);

    // Working copies of the trained parameters; the student's tensors are written once, at the end.
    const tensors = new Map(training.trainable.map((name) => [name, student.graph.lookup(name)!.initializer!]));
    const params = new Map([...tensors].map(([name, t]) => [name, t.toFloat32().slice()]));
    const dims = new Map([...tensors].map(([name, t]) => [name, t.dims as readonly number[]]));
    const lrScales = tensorLrScales(params);
    const newAdam = () => new Adam(params, { weightDecay: options.weightDecay, lrScales });
    let adam = newAdam();

    const evaluator = await HeldOutEvaluator.create(teacherRunner, output, student, output, dims, validation, { ...session, batchSize, loss });
    cleanup.push(evaluator);
    const forwardMs = await medianMs(5, () => evaluator.forward(probe.data, probe.count, params));
    const evalEvery = options.evalEvery ?? Math.max(25, 10 * Math.ceil(validation.count / batchSize));
    const warmup = options.warmup ?? warmupShare(stepBudget);
    const floor = DIVERGENCE_FLOOR * meanSquare(probeOut[output].data as Float32Array);
    const newWatch = () => new DivergenceWatch({ factor: DIVERGENCE_FACTOR, floor, patience: stepBudget === undefined ? 10 : Math.max(3, Math.round(DIVERGENCE_PATIENCE * stepBudget)) });
    let watch = newWatch();

    const before = await evaluator.score(params);
    const evaluations: ({ step: number } & HeldOutScore)[] = [{ step: 0, ...before }];
    // Adam scales even rounding-noise gradients to full steps: a student that already matches its teacher only loses by training.
    const untrained = before.loss > floor ? undefined : `the starting validation loss ${before.loss.toPrecision(4)} is not above the floor ${floor.toPrecision(4)}: the student already matches the teacher`;
    let best = { step: 0, score: before, params: copyParams(params) };
    const lossCurve: { step: number; loss: number }[] = [];
    const time = { data: 0, augment: 0, teacher: 0, train: 0, optimizer: 0, evaluation: 0 };
    let initialLoss = NaN, windowLoss = 0, windowSteps = 0, step = 0;
    let divergence: { step: number; reason: string } | undefined;
    let peakLr = baseLr, restartedAt: number | undefined;
    const restarts: DistillReport['restarts'] = [];
    const gradNames = training.trainable.map((name) => `grad:${name}`);
    const start = performance.now();
    const elapsed = () => (performance.now() - start) / 1000;
    const progressAt = (s: number) => Math.max(stepBudget ? stepProgress(s, stepBudget) : 0, timeBudget ? elapsed() / timeBudget : 0);
    const evaluate = async () => {
      const t0 = performance.now();
      const score = await evaluator.score(params);
      time.evaluation += performance.now() - t0;
      evaluations.push({ step, ...score });
      lossCurve.push({ step, loss: windowLoss / Math.max(windowSteps, 1) });
      windowLoss = windowSteps = 0;
      if (betterScore(score, best.score)) best = { step, score, params: copyParams(params) };
      return score;
    };
    let latest: HeldOutScore | undefined;

    while (!untrained && (stepBudget === undefined || step < stepBudget) && (timeBudget === undefined || elapsed() < timeBudget)) {
      let t0 = performance.now();
      const batch = await batches.next();
      const dimsX = [batch.count, ...calib.sampleShape];
      let t1 = performance.now();
      time.data += t1 - t0;
      const x = augmenter ? await augmenter.apply(batch.data, batch.count) : batch.data;
      t0 = performance.now();
      time.augment += t0 - t1;
      const t = await teacherRunner.run({ [calib.inputName]: { data: x, dims: dimsX } });
      t1 = performance.now();
      time.teacher += t1 - t0;
      const feeds: Record<string, FloatTensor> = { [calib.inputName]: { data: x, dims: dimsX }, teacher: asFloat(t[output]) };
      for (const f of features) feeds[`teacher:${f.student}`] = asFloat(t[f.teacher]);
      for (const [name, p] of params) feeds[name] = { data: p, dims: dims.get(name)! };
      const out = await trainer.run(feeds, ['loss', ...gradNames]);
      t0 = performance.now();
      time.train += t0 - t1;
      const value = Number(out.loss.data[0]);
      const diverging = watch.observe(value);
      if (diverging && restarts.length < MAX_RESTARTS) {
        peakLr /= RESTART_BACKOFF;
        restarts.push({ step, reason: diverging, peakLr, fromStep: best.step });
        for (const [name, p] of params) p.set(best.params.get(name)!);
        adam = newAdam();
        watch = newWatch();
        restartedAt = step;
        continue;
      }
      if (diverging) {
        divergence = { step, reason: diverging };
        break;
      }
      const grads = new Map(training.trainable.map((name) => [name, out[`grad:${name}`].data as Float32Array]));
      // Adam's first updates move every element by about the full rate, its moments resting on a few batches: the rate
      // climbs no faster than over MIN_WARMUP_STEPS steps, however short the budget, and again after a restart (new moments).
      const ramp = Math.min(1, (step - (restartedAt ?? 0) + 1) / MIN_WARMUP_STEPS);
      const lr = Math.min(cosineLr(progressAt(step), { base: peakLr, warmup }), peakLr * ramp);
      adam.step(grads, lr);
      time.optimizer += performance.now() - t0;
      if (step === 0) initialLoss = value;
      windowLoss += value;
      windowSteps++;
      step++;
      if (step % evalEvery === 0) latest = await evaluate();
      const steps = stepBudget ?? Math.max(step, Math.round((step / Math.max(elapsed(), 1e-9)) * (timeBudget ?? 0)));
      options.onProgress?.({ step, steps, seconds: elapsed(), loss: windowLoss / Math.max(windowSteps, 1) || value, lr, ...(latest ? { agreement: latest.top1Agreement, validationLoss: latest.loss } : {}) });
    }
    if (!divergence && step % evalEvery !== 0) {
      latest = await evaluate();
      options.onProgress?.({ step, steps: step, seconds: elapsed(), loss: lossCurve.at(-1)!.loss, lr: 0, agreement: latest.top1Agreement, validationLoss: latest.loss });
    }
    const seconds = elapsed();

    const keep = options.keep ?? 'last';
    const kept = keep === 'best' || divergence ? best : { step, score: latest ?? before, params };
    for (const [name, tensor] of tensors) tensor.data = kept.params.get(name)!;
    const trained = step;
    const loopMs = time.data + time.augment + time.teacher + time.train + time.optimizer;
    const per = (ms: number) => ms / Math.max(trained, 1);
    return {
      steps: trained,
      timing: {
        seconds,
        stepsPerSecond: trained / Math.max(seconds, 1e-9),
        forwardMs,
        stepMs: per(loopMs),
        stepBreakdown: { data: per(time.data), augment: per(time.augment), teacher: per(time.teacher), train: per(time.train), optimizer: per(time.optimizer) },
        evaluationSeconds: time.evaluation / 1000,
      },
      batchSize: batches.batchSize,
      lr: baseLr,
      peakLr,
      restarts,
      loss: { ...loss, reads: output, ...(reads.note ? { note: reads.note } : {}) },
      ...(untrained ? { untrained } : {}),
      augment,
      features,
      trainable: training.trainable,
      trainableParams: [...params.values()].reduce((n, p) => n + p.length, 0),
      frozen: training.frozen,
      initialLoss,
      lossCurve,
      evaluations,
      validationBefore: before,
      validationAfter: kept.score,
      keep,
      keptStep: kept.step,
      warmupSteps: Math.round(warmup * (stepBudget ?? trained)),
      diverged: !!divergence,
      ...(divergence ? { divergence } : {}),
    };
  } finally {
    await Promise.all(cleanup.map((r) => r.release()));
  }
}

/** Throws E_USAGE for an option out of range: callers check before any long work. */
export function checkDistillOptions(options: DistillOptions): void {
  const { batchSize, lr, temperature } = options;
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw ftmError('E_USAGE', `${name} must be a positive integer, found ${v}`);
  };
  positiveInt('distillation steps', options.steps);
  positiveInt('the distillation batch size', batchSize);
  if (options.seconds !== undefined && !(options.seconds > 0)) throw ftmError('E_USAGE', `the distillation time must be positive seconds, found ${options.seconds}`);
  positiveInt('evalEvery', options.evalEvery);
  if (lr !== undefined && !(lr > 0)) throw ftmError('E_USAGE', `the distillation learning rate must be positive, found ${lr}`);
  if (temperature !== undefined && !(temperature > 0)) throw ftmError('E_USAGE', `the distillation temperature must be positive, found ${temperature}`);
  if (options.featureWeight !== undefined && !(options.featureWeight >= 0)) throw ftmError('E_USAGE', `the feature loss weight must be ≥ 0, found ${options.featureWeight}`);
  if (options.train !== undefined && !Array.isArray(options.train) && options.train !== 'rewritten' && options.train !== 'all') throw ftmError('E_USAGE', `train must be "rewritten" or "all", found "${options.train}"`);
}

function asFloat(t: { data: unknown; dims: readonly number[] }): FloatTensor {
  if (!(t.data instanceof Float32Array)) throw ftmError('E_UNSUPPORTED', 'expected float32 teacher outputs');
  return { data: t.data, dims: t.dims };
}

function copyParams(params: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, v.slice()]));
}

function meanSquare(data: Float32Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i] * data[i];
  return s / Math.max(data.length, 1);
}

async function medianMs(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}
