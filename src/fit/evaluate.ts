import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { captureBatches } from '../runtime/capture.js';

/**
 * How far a student's output is from its teacher's on a data set: Σ‖s − t‖² / Σ‖t − mean(t)‖², the mean taken per
 * output element over the samples (for logits: per class). `output` defaults to the teacher's first graph output,
 * which the student must also have (rewrites keep the graph's interface).
 */
export async function outputError(
  teacher: Model,
  student: Model,
  data: CalibrationSet,
  options: { threads?: number; batchSize?: number; output?: string } = {},
): Promise<number> {
  const output = options.output ?? teacher.graph.outputs[0]?.name;
  if (!output) throw ftmError('E_USAGE', 'the teacher has no graph output to compare', teacher.path);
  const captures = { t: { model: teacher, value: output }, s: { model: student, value: output } };
  let error = 0, squares = 0, samples = 0;
  let sums: Float64Array | undefined;
  for await (const { t, s } of captureBatches(data, captures, { threads: options.threads ?? availableParallelism(), batchSize: options.batchSize ?? 64 })) {
    const n = t.dims[0];
    const per = t.data.length / n;
    sums ??= new Float64Array(per);
    for (let i = 0; i < t.data.length; i++) {
      error += (s.data[i] - t.data[i]) ** 2;
      squares += t.data[i] ** 2;
      sums[i % per] += t.data[i];
    }
    samples += n;
  }
  const centered = squares - (sums ?? new Float64Array(0)).reduce((acc, v) => acc + (v * v) / samples, 0);
  return centered > 0 ? error / centered : error > 0 ? Infinity : 0;
}
