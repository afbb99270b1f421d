import type { CalibrationSet } from '../calib/types.js';
import type { Model } from '../ir/model.js';
import { captureBatches } from '../fit/capture.js';

/** How close the student's outputs are to the teacher's, per graph output, on data neither was fitted on. */
export interface OutputAgreement {
  output: string;
  /** Σ(s − t)² / Σ(t − mean t)², the mean per output element over the samples. */
  relativeError: number;
  /** 10·log10(max|t|² / mean (s − t)²). */
  psnr: number;
  /** For classifier outputs ([N, K], K > 1): share of samples whose arg-max class agrees. */
  top1Agreement: number | null;
}

export async function measureAgreement(teacher: Model, student: Model, data: CalibrationSet, options: { threads?: number; batchSize?: number } = {}): Promise<OutputAgreement[]> {
  const outputs = teacher.graph.outputs.map((v) => v.name);
  const captures: Record<string, { model: Model; value: string }> = {};
  outputs.forEach((name, i) => {
    captures[`t${i}`] = { model: teacher, value: name };
    captures[`s${i}`] = { model: student, value: name };
  });
  const acc = outputs.map(() => ({ err: 0, sq: 0, peak: 0, count: 0, agree: 0, samples: 0, classifier: true, sums: undefined as Float64Array | undefined }));
  for await (const batch of captureBatches(data, captures, { threads: options.threads, batchSize: options.batchSize ?? 64 })) {
    outputs.forEach((_, i) => {
      const t = batch[`t${i}`], s = batch[`s${i}`], a = acc[i];
      const n = t.dims[0], per = t.data.length / n;
      a.sums ??= new Float64Array(per);
      for (let j = 0; j < t.data.length; j++) {
        a.err += (s.data[j] - t.data[j]) ** 2;
        a.sq += t.data[j] ** 2;
        a.sums[j % per] += t.data[j];
        a.peak = Math.max(a.peak, Math.abs(t.data[j]));
      }
      a.count += t.data.length;
      a.samples += n;
      a.classifier &&= t.dims.length === 2 && per > 1;
      if (a.classifier) for (let k = 0; k < n; k++) a.agree += argmax(t.data, k * per, per) === argmax(s.data, k * per, per) ? 1 : 0;
    });
  }
  return outputs.map((output, i) => {
    const a = acc[i];
    const centered = a.sq - (a.sums ?? new Float64Array(0)).reduce((x, v) => x + (v * v) / a.samples, 0);
    const mse = a.err / Math.max(a.count, 1);
    return {
      output,
      relativeError: centered > 0 ? a.err / centered : 0,
      psnr: mse > 0 ? 10 * Math.log10((a.peak * a.peak) / mse) : Infinity,
      top1Agreement: a.classifier ? a.agree / a.samples : null,
    };
  });
}

function argmax(data: Float32Array, from: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[from + i] > data[from + best]) best = i;
  return best;
}
