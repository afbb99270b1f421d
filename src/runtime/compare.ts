import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { captureBatches } from './capture.js';

/**
 * Teacher-vs-student outputs compared batch by batch: what the report's held-out agreement, the gates, distillation's
 * validation scores and the fit's output error all read.
 */
export class OutputComparison {
  private err = 0;
  private energy = 0;
  private peak = 0;
  private values = 0;
  private agree = 0;
  samples = 0;
  private classifier = true;
  /** Per output element (for logits: per class), Σ over samples of the teacher's value: its mean, for the spread. */
  private sums: Float64Array | undefined;

  /** One batch of `count` samples, teacher `t` and student `s` of the same layout; `rank` of the output tensor. */
  add(t: ArrayLike<number>, s: ArrayLike<number>, count: number, rank: number): void {
    const per = t.length / count;
    const sums = (this.sums ??= new Float64Array(per));
    for (let j = 0; j < t.length; j++) {
      this.err += (s[j] - t[j]) ** 2;
      this.energy += t[j] * t[j];
      this.peak = Math.max(this.peak, Math.abs(t[j]));
      sums[j % per] += t[j];
    }
    this.values += t.length;
    this.samples += count;
    this.classifier &&= rank === 2 && per > 1;
    if (this.classifier) for (let k = 0; k < count; k++) this.agree += argmax(t, k * per, per) === argmax(s, k * per, per) ? 1 : 0;
  }

  /**
   * relativeError is ‖s − t‖ / ‖t‖ over every output value of every sample: relative to the teacher's output energy,
   * so that a single sample reads as its own error. psnr is 10·log10(max|t|² / mean (s − t)²). top1Agreement is the
   * share of samples whose arg-max class agrees, for classifier outputs ([N, K], K > 1), else null.
   */
  result(): { relativeError: number; psnr: number; top1Agreement: number | null } {
    const mse = this.err / Math.max(this.values, 1);
    return {
      relativeError: this.energy > 0 ? Math.sqrt(this.err / this.energy) : this.err > 0 ? Infinity : 0,
      psnr: mse > 0 ? 10 * Math.log10((this.peak * this.peak) / mse) : Infinity,
      top1Agreement: this.classifier && this.samples ? this.agree / this.samples : null,
    };
  }

  /**
   * Σ‖s − t‖² / Σ‖t − mean(t)‖², the mean taken per output element over the samples: the error relative to the
   * teacher's spread, the measure least squares fitting minimizes (FitResult's, per layer).
   */
  spreadError(): number {
    const centered = this.energy - (this.sums ?? new Float64Array(0)).reduce((acc, v) => acc + (v * v) / this.samples, 0);
    return centered > 0 ? this.err / centered : this.err > 0 ? Infinity : 0;
  }
}

/** The index of the largest of `length` values from `from` (the first of equals). */
export function argmax(data: ArrayLike<number>, from: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[from + i] > data[from + best]) best = i;
  return best;
}

/**
 * Streams `data` through teacher and student (each run once per batch, cut after the values compared) and compares
 * each named output, which both models must have (rewrites keep the graph's interface).
 */
export async function compareOutputs(
  teacher: Model,
  student: Model,
  data: CalibrationSet,
  outputs: readonly string[],
  options: { threads?: number; batchSize?: number } = {},
): Promise<OutputComparison[]> {
  const captures: Record<string, { model: Model; value: string }> = {};
  outputs.forEach((name, i) => {
    captures[`t${i}`] = { model: teacher, value: name };
    captures[`s${i}`] = { model: student, value: name };
  });
  const comparisons = outputs.map(() => new OutputComparison());
  for await (const batch of captureBatches(data, captures, { threads: options.threads, batchSize: options.batchSize ?? 64 })) {
    outputs.forEach((_, i) => {
      const t = batch[`t${i}`];
      comparisons[i].add(t.data, batch[`s${i}`].data, t.dims[0], t.dims.length);
    });
  }
  return comparisons;
}

/**
 * How far a student's output is from its teacher's on a data set, as OutputComparison.spreadError. `output` defaults
 * to the teacher's first graph output.
 */
export async function outputError(
  teacher: Model,
  student: Model,
  data: CalibrationSet,
  options: { threads?: number; batchSize?: number; output?: string } = {},
): Promise<number> {
  const output = options.output ?? teacher.graph.outputs[0]?.name;
  if (!output) throw ftmError('E_USAGE', 'the teacher has no graph output to compare', teacher.path);
  const [comparison] = await compareOutputs(teacher, student, data, [output], { threads: options.threads ?? availableParallelism(), batchSize: options.batchSize });
  return comparison.spreadError();
}
