import { sampleIndices } from '../calib/random.js';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';

/** The calibration samples by use; each sample is in exactly one part. */
export interface CalibrationSplit {
  /** The closed-form fits and distillation train on these. */
  fit: CalibrationSet;
  /** Only to choose between the closed-form and the distilled student (empty when not asked for). */
  validation: CalibrationSet;
  /** Only to report the result's agreement with the original: nothing is fitted or chosen on them. */
  heldOut: CalibrationSet;
}

/** How many of `count` samples a `share` of them sets aside: at least 1, and at least 1 left. */
export function setAsideCount(count: number, share: number): number {
  return Math.min(count - 1, Math.max(1, Math.round(count * share)));
}

/**
 * Splits the calibration set: `holdout` of the samples held out for the report, then `validation` of the rest set
 * aside to choose between students (0: none). Seeded; every part keeps file order.
 */
export function splitCalibration(calib: CalibrationSet, holdout: number, seed: number, validation = 0): CalibrationSplit {
  if (!(holdout > 0 && holdout < 1)) throw ftmError('E_USAGE', `--holdout must be a fraction in (0, 1), found ${holdout}`);
  if (calib.count < 2) throw ftmError('E_CALIB_EMPTY', `expected at least 2 calibration samples (some are held out for evaluation), found ${calib.count}`);
  const [heldOut, rest] = setAside(Array.from({ length: calib.count }, (_, i) => i), setAsideCount(calib.count, holdout), seed);
  const [valid, fit] = validation > 0 && rest.length > 1 ? setAside(rest, setAsideCount(rest.length, validation), seed + 1) : [[], rest];
  return { fit: calib.subset(fit), validation: calib.subset(valid), heldOut: calib.subset(heldOut) };
}

/** `k` of `indices` drawn with `seed`, and the others; both in the order of `indices`. */
function setAside(indices: number[], k: number, seed: number): [number[], number[]] {
  const picked = new Set(sampleIndices(indices.length, k, seed));
  return [indices.filter((_, i) => picked.has(i)), indices.filter((_, i) => !picked.has(i))];
}
