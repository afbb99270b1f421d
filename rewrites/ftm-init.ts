import { truncatedSvd, type LayerStats } from '../src/index.js';
import type { FtmLayout } from './ftm-layout.js';

/** The parameters of one FTM in its module form (see ftm.md). */
export interface FtmWeights {
  /** m × C_in */
  pw: Float32Array;
  /** m */
  pwBias: Float32Array;
  /** m × k² */
  dw: Float32Array;
  /** One conv1d kernel (length k_nf) per neighbor fusion. */
  gates: Float32Array[];
  /** C, by original channel. */
  scale: Float32Array;
  shift: Float32Array;
}

/** sigmoid(0): the gate's value while the fusion weights are zero. */
export const GATE_AT_ZERO = 0.5;

/**
 * Data-free initialization: each prime's kernel W[p] (C_in × k²) by its best rank-1 factorization σ·a·bᵀ (pw = σ·a,
 * dw = b); each ghost q as the scaled copy α·W[p] that best matches it — α from calibration statistics when given (the
 * profiler's least-squares factor, or G_qp / G_pp from a Gram matrix), else from the kernels (α = ⟨W_q, W_p⟩ / ⟨W_p, W_p⟩).
 * Gates start at zero.
 */
export function initFtmDataFree(
  weight: Float32Array,
  bias: Float32Array | undefined,
  cin: number,
  k2: number,
  layout: FtmLayout,
  knf: number,
  stats?: LayerStats,
): FtmWeights {
  const { m, s, channels } = layout;
  const w: FtmWeights = {
    pw: new Float32Array(m * cin),
    pwBias: new Float32Array(m),
    dw: new Float32Array(m * k2),
    gates: Array.from({ length: s - 1 }, () => new Float32Array(knf)),
    scale: new Float32Array(channels),
    shift: bias ? Float32Array.from(bias) : new Float32Array(channels),
  };
  const size = cin * k2;
  const kernel = (c: number) => weight.subarray(c * size, (c + 1) * size);
  layout.groups.forEach((group, j) => {
    const p = group[0];
    const { u, s: sigma, v } = truncatedSvd(kernel(p), cin, k2, 1);
    for (let i = 0; i < cin; i++) w.pw[j * cin + i] = sigma[0] * u[i];
    for (let i = 0; i < k2; i++) w.dw[j * k2 + i] = v[i];
    w.scale[p] = 1;
    for (const q of group.slice(1)) w.scale[q] = ghostScale(q, p, kernel, stats) / GATE_AT_ZERO;
  });
  return w;
}

function ghostScale(q: number, p: number, kernel: (c: number) => Float32Array, stats?: LayerStats): number {
  if (stats?.scales) return stats.scales[q];
  const g = stats?.gram;
  if (g) {
    const c = Math.round(Math.sqrt(g.length));
    return g[p * c + p] > 0 ? g[q * c + p] / g[p * c + p] : 0;
  }
  const a = kernel(q), b = kernel(p);
  let ab = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    bb += b[i] * b[i];
  }
  return bb > 0 ? ab / bb : 0;
}
