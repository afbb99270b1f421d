import type { CalibrationSet } from '../calib/types.js';
import type { Model } from '../ir/model.js';
import { compareOutputs } from '../runtime/compare.js';

/**
 * The fewest held-out samples an agreement estimate is judged by: with fewer, one sample moves top-1 agreement by
 * more than 6 points, and the CLI's gates refuse to pass or fail a model on it.
 */
export const MIN_RELIABLE_SAMPLES = 16;

/** How close the student's outputs are to the teacher's, per graph output, on data neither was fitted on. */
export interface OutputAgreement {
  output: string;
  /** ‖s − t‖ / ‖t‖ over every output value of every sample: the error relative to the teacher's output energy, so a
   * single sample reads as its own error (a spread across samples would be 0 for one sample). */
  relativeError: number;
  /** 10·log10(max|t|² / mean (s − t)²). */
  psnr: number;
  /** For classifier outputs ([N, K], K > 1): share of samples whose arg-max class agrees. */
  top1Agreement: number | null;
}

export async function measureAgreement(teacher: Model, student: Model, data: CalibrationSet, options: { threads?: number; batchSize?: number } = {}): Promise<OutputAgreement[]> {
  const outputs = teacher.graph.outputs.map((v) => v.name);
  const comparisons = await compareOutputs(teacher, student, data, outputs, options);
  return outputs.map((output, i) => ({ output, ...comparisons[i].result() }));
}
