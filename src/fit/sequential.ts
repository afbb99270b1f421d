import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { isComputed } from '../graph/computed.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { RewriteRecord } from '../rewrite/driver.js';
import type { FitPlan, FitSolveOptions, Params } from '../rewrite/fit-contract.js';
import { captureBatches, type Capture } from '../runtime/capture.js';
import { collectLayerStats } from './patch-stats.js';
import { SegmentedRun } from './segments.js';
import { observeShapes } from '../runtime/observe-shapes.js';
import { inferShapes } from '../analysis/shapes.js';
import type { FloatTensor } from '../runtime/session.js';

export interface FitProgress {
  /** The rewrite whose layer is being fitted (the node it replaced, as in the records), its rank and the number of layers. */
  layer: string;
  index: number;
  layers: number;
  samples: number;
  total: number;
}

export interface SequentialOptions extends FitSolveOptions {
  /** onnxruntime threads (default: the machine's cores). */
  threads?: number;
  /** Samples per onnxruntime run (default 64). */
  batchSize?: number;
  /**
   * 'sequential' (default): each layer is fitted on the student's own input, with every earlier layer already fitted.
   * 'independent': each layer is fitted on the teacher's value of the same name as its input (for comparison: errors
   * compound); a layer whose input the teacher does not have (e.g. prune's sliced channels) cannot be fitted so.
   */
  mode?: 'sequential' | 'independent';
  onProgress?: (progress: FitProgress) => void;
  /**
   * Bytes of activations sequential fitting may keep in memory to run the models segment by segment (default 1 GiB);
   * above it, each layer runs truncated passes from the input instead (slower, no memory).
   */
  memoryBudget?: number;
}

export interface LayerFitReport {
  /** The rewrite's node (the teacher's node it replaced: node name, or output name when unnamed). */
  layer: string;
  /** The rule that made the rewrite. */
  rule: string;
  /** The teacher value the layer was fitted to (the record's node output, or for prune a consumer's). */
  target: string;
  /** Relative output error ‖Y − Ŷ‖² / ‖Y − mean(Y)‖² of the layer on its fitting input, before and after. */
  errorBefore: number;
  errorAfter: number;
  /** Positions the statistics sum over. */
  positions: number;
  seconds: number;
}

export interface FitReport {
  mode: 'sequential' | 'independent';
  samples: number;
  layers: LayerFitReport[];
  /** Forward passes over the calibration set (each cut after the layer it serves). */
  passes: number;
  seconds: number;
}

/** One fitted layer: its plan, the record that holds its params, and its place in the student. */
interface FitTarget {
  record: RewriteRecord & { params: Params };
  plan: FitPlan;
  /** Position in the student's (sorted) graph of the node producing the plan's input (−1: a graph input). */
  order: number;
}

/**
 * Fits every rewritten layer of `student` (the model applyRules returned for `teacher`, with its records) to the
 * teacher, following each record's fit plans: per plan, it streams the calibration set, pairs the STUDENT's value
 * `plan.input` with the TEACHER's value `plan.target`, collects the patch statistics of `plan.patches` on onnxruntime,
 * and calls `plan.solve`, which writes the fitted weights into the record's params (they live in `student`). Plans run
 * in the student's topological order (of their inputs), so that layer l sees layers < l already fitted: their errors
 * are compensated instead of compounding. The generic engine: it knows no rule's maths.
 *
 * Cost: in sequential mode both models run segment by segment (about one pass of each, see segments.ts) when the
 * activations to keep fit the memory budget; otherwise, and in independent mode, each layer runs passes cut after the
 * values it needs (up to 2·L partial passes over the calibration set).
 */
export async function fitSequential(teacher: Model, student: Model, records: readonly RewriteRecord[], calib: CalibrationSet, options: SequentialOptions = {}): Promise<FitReport> {
  const start = performance.now();
  const { threads = availableParallelism(), batchSize = 64, mode = 'sequential' } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw ftmError('E_USAGE', `expected the batch size to be a positive integer, found ${batchSize}`);
  if (mode !== 'sequential' && mode !== 'independent') throw ftmError('E_USAGE', `expected mode "sequential" or "independent", found "${String(mode)}"`);
  if (calib.count === 0) throw ftmError('E_CALIB_EMPTY', 'expected calibration samples, found none');
  const targets = fitTargets(teacher, student, records);
  const solveOptions: FitSolveOptions = { iterations: options.iterations, tolerance: options.tolerance, damping: options.damping, threads };
  const layers: LayerFitReport[] = [];
  let passes = 0;
  const segmented = mode === 'sequential' ? await segmentedRuns(teacher, student, targets, calib, { threads, batchSize }, options.memoryBudget ?? DEFAULT_MEMORY_BUDGET) : undefined;
  if (segmented) passes = 2;
  for (const [index, { record, plan }] of targets.entries()) {
    const t0 = performance.now();
    const where = record.node;
    const onBatch = (samples: number) => options.onProgress?.({ layer: where, index, layers: targets.length, samples, total: calib.count });
    let pairs: AsyncIterable<{ x: FloatTensor; y: FloatTensor }>;
    if (segmented) {
      pairs = segmentPairs(segmented, plan, onBatch);
    } else {
      const x: Capture = { model: mode === 'sequential' ? student : teacher, value: plan.input.name };
      if (mode === 'independent' && !isComputed(teacher.graph, plan.input.name)) {
        throw ftmError('E_USAGE', `independent fitting reads the layer's input "${plan.input.name}" from the teacher, which has no such value (the ${record.rule} rewrite made it): fit in sequential mode`, where);
      }
      const y: Capture = { model: teacher, value: plan.target };
      passes += x.model === y.model ? 1 : 2;
      pairs = captureBatches(calib, { x, y }, { threads, batchSize, onBatch });
    }
    const stats = await collectLayerStats(pairs, plan.patches, { threads, where });
    const { errorBefore, errorAfter } = await plan.solve(stats, record.params, solveOptions);
    segmented?.student.release([plan.input.name]);
    segmented?.teacher.release([plan.target]);
    layers.push({ layer: where, rule: record.rule, target: plan.target, errorBefore, errorAfter, positions: stats.count, seconds: (performance.now() - t0) / 1000 });
  }
  return { mode, samples: calib.count, layers, passes, seconds: (performance.now() - start) / 1000 };
}

/** Activations kept in memory for segmented runs, at most (the frontier, for the whole calibration set). */
const DEFAULT_MEMORY_BUDGET = 1 << 30;

interface SegmentedRuns {
  student: SegmentedRun;
  teacher: SegmentedRun;
}

/**
 * Both models run segment by segment (about one pass of each in all) when their frontiers fit the memory budget;
 * undefined otherwise, and each layer then runs truncated passes from the input. The frontier's sizes are those at
 * the calibration samples' size, observed on a first batch where static propagation cannot give them.
 */
async function segmentedRuns(teacher: Model, student: Model, targets: FitTarget[], calib: CalibrationSet, options: { threads: number; batchSize: number }, budget: number): Promise<SegmentedRuns | undefined> {
  const runs = {
    student: new SegmentedRun(student, calib, options, new Set(targets.map((t) => t.plan.input.name))),
    teacher: new SegmentedRun(teacher, calib, options, new Set(targets.map((t) => t.plan.target))),
  };
  const batches = calib.batches(2);
  const first = (await batches.next()).value!;
  await batches.return(undefined);
  const probe = { data: first.data, dims: [first.count, ...calib.sampleShape] };
  const fits = async (run: SegmentedRun, model: Model) => {
    const shapes = inferShapes(model.graph, 1, await observeShapes(model, calib.inputName, probe, { threads: options.threads }));
    const perSample = (name: string) => {
      const shape = shapes.get(model.graph.lookup(name)!);
      return shape && shape.slice(1).every((d) => d !== null) ? (shape.slice(1) as number[]).reduce((a, b) => a * b, 1) : undefined;
    };
    return (run.peakFrontierBytes(perSample) ?? Infinity) <= budget / 2;
  };
  return (await fits(runs.student, student)) && (await fits(runs.teacher, teacher)) ? runs : undefined;
}

async function* segmentPairs(runs: SegmentedRuns, plan: FitPlan, onBatch: (samples: number) => void): AsyncGenerator<{ x: FloatTensor; y: FloatTensor }> {
  const xs = await runs.student.get([plan.input.name]);
  const ys = await runs.teacher.get([plan.target]);
  let samples = 0;
  for (let b = 0; b < xs.length; b++) {
    yield { x: xs[b][0], y: ys[b][0] };
    samples += xs[b][0].dims[0];
    onBatch(samples);
  }
}

/** The fit plans of the fired rewrites, checked against both models, in the student's topological order. */
function fitTargets(teacher: Model, student: Model, records: readonly RewriteRecord[]): FitTarget[] {
  const order = new Map(student.graph.nodes.map((n, i) => [n, i]));
  const studentTensors = new Set<Tensor>(student.graph.initializers.map((v) => v.initializer!));
  const fired = records.filter((r): r is RewriteRecord & { params: Params } => r.status === 'fired' && r.params !== undefined && (r.fit?.length ?? 0) > 0);
  if (fired.length === 0) throw ftmError('E_USAGE', 'nothing to fit: no record of a fired rewrite whose rule fits its weights (ftm, lowrank and prune do)');
  const targets = fired.flatMap((record) => {
    const where = record.node;
    if (![...record.params.values()].every((t) => studentTensors.has(t))) {
      throw ftmError('E_USAGE', "expected the student to hold this rewrite's weights: pass the model applyRules returned with these records", where);
    }
    return record.fit!.map((plan): FitTarget => {
      const input = plan.input;
      if (student.graph.lookup(input.name) !== input || !(input.producer ? order.has(input.producer) : input.isGraphInput)) {
        throw ftmError('E_USAGE', `expected the student to compute the layer's input "${input.name}": pass the model applyRules returned with these records`, where);
      }
      if (!isComputed(teacher.graph, plan.target)) {
        throw ftmError('E_USAGE', `expected the teacher to compute "${plan.target}", the value the layer is fitted to: pass the model the rewrite was applied to`, where);
      }
      return { record, plan, order: input.producer ? order.get(input.producer)! : -1 };
    });
  });
  // A layer's input comes after every node of the layers upstream of it, whose inputs come before those: sorting by
  // the input's producer puts every layer after the layers it depends on (the sort is stable for ties).
  return targets.sort((a, b) => a.order - b.order);
}
