import { sampleIndices } from '../calib/random.js';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';

/**
 * Splits the calibration set into the samples used for fitting and a held-out part, never used for fitting, on which
 * teacher/student agreement is reported. Seeded; both parts keep file order.
 */
export function splitCalibration(calib: CalibrationSet, holdout: number, seed: number): { fit: CalibrationSet; heldOut: CalibrationSet } {
  if (!(holdout > 0 && holdout < 1)) throw ftmError('E_USAGE', `--holdout must be a fraction in (0, 1), found ${holdout}`);
  if (calib.count < 2) throw ftmError('E_CALIB_EMPTY', `expected at least 2 calibration samples (some are held out for evaluation), found ${calib.count}`);
  const held = sampleIndices(calib.count, Math.min(calib.count - 1, Math.max(1, Math.round(calib.count * holdout))), seed);
  const heldSet = new Set(held);
  const fit = Array.from({ length: calib.count }, (_, i) => i).filter((i) => !heldSet.has(i));
  return { fit: calib.subset(fit), heldOut: calib.subset(held) };
}
