import type { CalibrationSet } from '../../src/calib/types.js';
import { captureBatches } from '../../src/runtime/capture.js';
import type { Model } from '../../src/index.js';

/**
 * A layer's relative error measured on onnxruntime: Σ‖t − s‖² / Σ‖t − mean_c(t)‖² between the teacher's value `t`
 * and the student's value `s` ([N, C, H, W] both, or features [N, C]; the mean is per channel over all positions), over `data`. The
 * definition the fit reports use, computed here from the activations instead of from statistics.
 */
export async function measuredLayerError(teacher: Model, t: string, student: Model, s: string, data: CalibrationSet): Promise<number> {
  let err = 0, squares = 0, count = 0;
  let sums: Float64Array | undefined;
  for await (const b of captureBatches(data, { t: { model: teacher, value: t }, s: { model: student, value: s } }, { batchSize: 64 })) {
    const [n, c, h = 1, w = 1] = b.t.dims;
    sums ??= new Float64Array(c);
    b.t.data.forEach((v, i) => {
      err += (v - b.s.data[i]) ** 2;
      squares += v * v;
      sums![Math.floor(i / (h * w)) % c] += v;
    });
    count += n * h * w;
  }
  return err / (squares - sums!.reduce((a, v) => a + (v * v) / count, 0));
}
