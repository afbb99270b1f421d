import { ftmError } from '../errors.js';
import type { Tensor } from '../ir/tensor.js';
import { blockedDampedFactor } from './blocked-cholesky.js';
import { ridgeFor } from './cholesky.js';
import { Gemms } from './gemm.js';
import type { PatchStats } from '../rewrite/fit-contract.js';

/**
 * Least squares of a plain convolution ŷ = W·x + b on patch statistics: the building blocks a rule's fit step uses
 * when its new weights include (or factor) an ordinary Conv. A plain Conv reads only the input patch entries
 * c·k² + κ (c < C_in), the layout of a Conv weight's row [C_in, kh, kw], and adds its bias at every position: the
 * bias is the always-1 entry; the zero-padded ones channel of PatchStats (an FTM's padding-aware bias) is not used.
 */

/** Σ_c ‖y_c − mean(y_c)‖² over the statistics' positions: what every relative error is measured against. */
export function targetSpread(stats: PatchStats): number {
  const { yy, xy, count, cout, size } = stats;
  const k = size - 1;
  let total = 0;
  for (let c = 0; c < cout; c++) {
    const sum = xy[k * cout + c];
    total += count > 0 ? yy[c] - (sum * sum) / count : 0;
  }
  return total;
}

/** error / spread: 1 is no better than each channel's mean. Rounding below 0 reads as 0; a constant target gives ∞ for any error. */
export const relativeError = (error: number, spread: number): number => (spread > 0 ? Math.max(error, 0) / spread : error > 0 ? Infinity : 0);

/** The centered moments of a plain conv's inputs x (C_in·k² patch entries) and targets y, from PatchStats. */
export interface ConvMoments {
  /** C_in·k²: patch entry c·k² + κ is input channel c at tap κ, as in a Conv weight's row. */
  inputs: number;
  cout: number;
  /** Positions summed over. */
  count: number;
  meanX: Float64Array;
  meanY: Float64Array;
  /** Σ (x − x̄)(x − x̄)ᵀ, inputs × inputs, row-major. */
  xx: Float64Array;
  /** Σ (x − x̄)(y − ȳ)ᵀ, inputs × C_out, row-major. */
  xy: Float64Array;
  /** Σ (y_c − ȳ_c)², per output channel. */
  yy: Float64Array;
}

/** The moments of a plain conv from a layer's PatchStats (float64; exact up to the rounding of the centering). */
export function convMoments(stats: PatchStats): ConvMoments {
  const { size, cout, count } = stats;
  if (!(count > 0)) throw ftmError('E_RULE', 'cannot fit a layer on statistics over zero positions');
  const inputs = stats.cin * stats.k2;
  const k = size - 1;
  const meanX = Float64Array.from({ length: inputs }, (_, i) => stats.xx[i * size + k] / count);
  const meanY = Float64Array.from({ length: cout }, (_, c) => stats.xy[k * cout + c] / count);
  const xx = new Float64Array(inputs * inputs);
  const xy = new Float64Array(inputs * cout);
  for (let i = 0; i < inputs; i++) {
    const mi = count * meanX[i];
    for (let j = 0; j < inputs; j++) xx[i * inputs + j] = stats.xx[i * size + j] - mi * meanX[j];
    for (let c = 0; c < cout; c++) xy[i * cout + c] = stats.xy[i * cout + c] - mi * meanY[c];
  }
  const yy = Float64Array.from({ length: cout }, (_, c) => stats.yy[c] - count * meanY[c] * meanY[c]);
  return { inputs, cout, count, meanX, meanY, xx, xy, yy };
}

/** A plain conv's weights in float64: weight C_out × C_in·k² row-major (a Conv weight [C_out, C_in, kh, kw]), bias C_out. */
export interface ConvWeights {
  weight: Float64Array;
  bias: Float64Array;
}

/**
 * The least-squares conv: W = argmin Σ‖y − W·x − b‖², from the centered normal equations (one damped solve with C_out
 * right-hand sides, see solveDamped; blocked on onnxruntime for wide layers), and b = ȳ − W·x̄.
 */
export async function fitConv(m: ConvMoments, gemms: Gemms, options: { damping?: number } = {}): Promise<ConvWeights> {
  const { inputs, cout } = m;
  const solve = await blockedDampedFactor(m.xx, inputs, gemms, ridgeFor(inputs, m.count, options.damping));
  const wt = solve ? await solve(m.xy) : new Float64Array(inputs * cout);
  const weight = new Float64Array(cout * inputs);
  const bias = Float64Array.from(m.meanY);
  for (let i = 0; i < inputs; i++)
    for (let c = 0; c < cout; c++) {
      weight[c * inputs + i] = wt[i * cout + c];
      bias[c] -= wt[i * cout + c] * m.meanX[i];
    }
  return { weight, bias };
}

/**
 * Relative error Σ‖y − W·x − b‖² / Σ‖y − ȳ‖² of a plain conv (weight C_out × C_in·k² row-major, bias C_out) on the
 * statistics, exactly: Σ_c yy_c − 2·W_c·xy_c + W_c·XX·W_cᵀ + n·(ȳ_c − W_c·x̄ − b_c)², in the centered moments. W·XX is
 * one product (C_out·n², on onnxruntime for wide layers).
 */
export async function convError(m: ConvMoments, weight: ArrayLike<number>, bias: ArrayLike<number>, gemms: Gemms): Promise<number> {
  const { inputs, cout, count } = m;
  if (weight.length !== cout * inputs || bias.length !== cout) {
    throw ftmError('E_RULE', `expected a weight of ${cout}×${inputs} and a bias of ${cout}, found ${weight.length} and ${bias.length} values`);
  }
  const w = Float64Array.from(weight);
  const wxx = await gemms.run({ a: w, b: m.xx, rows: cout, inner: inputs, cols: inputs });
  let error = 0, spread = 0;
  for (let c = 0; c < cout; c++) {
    let quad = 0, cross = 0, mean = m.meanY[c] - bias[c];
    for (let i = 0; i < inputs; i++) {
      const wi = w[c * inputs + i];
      quad += wi * wxx[c * inputs + i];
      cross += wi * m.xy[i * cout + c];
      mean -= wi * m.meanX[i];
    }
    error += m.yy[c] - 2 * cross + quad + count * mean * mean;
    spread += m.yy[c];
  }
  return relativeError(error, spread);
}

/**
 * Refits a plain 2-D conv held in float32 tensors (weight [C_out, C_in, kh, kw], bias [C_out]) in place to the
 * statistics by least squares; returns the relative errors of the weights found and of the fit.
 */
export async function refitConv(stats: PatchStats, weight: Tensor, bias: Tensor, options: { damping?: number; threads?: number } = {}): Promise<{ errorBefore: number; errorAfter: number }> {
  if (!(weight.data instanceof Float32Array && bias.data instanceof Float32Array)) throw ftmError('E_RULE', `expected float32 conv weights to refit, found "${weight.name}" and "${bias.name}"`);
  const m = convMoments(stats);
  const gemms = new Gemms(options.threads);
  try {
    const errorBefore = await convError(m, weight.data, bias.data, gemms);
    const fit = await fitConv(m, gemms, options);
    weight.data.set(fit.weight);
    bias.data.set(fit.bias);
    return { errorBefore, errorAfter: await convError(m, weight.data, bias.data, gemms) };
  } finally {
    await gemms.release();
  }
}
