/** Independent reference for the redundancy numbers: explicit residuals over every position, in float64. */
import type { Nchw } from './reference.js';

/** The values of channel `c` over every sample and position. */
export function channel(t: Nchw, c: number): Float64Array {
  const size = t.h * t.w;
  const out = new Float64Array(t.n * size);
  for (let s = 0; s < t.n; s++) out.set(t.data.subarray((s * t.c + c) * size, (s * t.c + c + 1) * size), s * size);
  return out;
}

/**
 * PSNR of map `fi` reproduced from map `fj` by the least-squares copy a·fj (+ b when `centered`), with the residual
 * computed explicitly position by position, and the copy's factors.
 */
export function copyPsnr(fi: Float64Array, fj: Float64Array, centered: boolean): { psnr: number; scale: number; offset: number } {
  const n = fi.length;
  const mean = (f: Float64Array) => (centered ? f.reduce((a, b) => a + b, 0) / n : 0);
  const mi = mean(fi);
  const mj = mean(fj);
  let sij = 0;
  let sjj = 0;
  for (let k = 0; k < n; k++) {
    sij += (fi[k] - mi) * (fj[k] - mj);
    sjj += (fj[k] - mj) ** 2;
  }
  const scale = sjj > 0 ? sij / sjj : 0;
  const offset = mi - scale * mj;
  let mse = 0;
  let peak = 0;
  for (let k = 0; k < n; k++) {
    mse += (fi[k] - scale * fj[k] - offset) ** 2;
    peak = Math.max(peak, Math.abs(fi[k]));
  }
  return { psnr: 10 * Math.log10((peak * peak) / (mse / n)), scale, offset };
}
