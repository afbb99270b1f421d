import { GATE_AT_ZERO, type FtmWeights } from './ftm-init.js';
import type { FtmLayout } from './ftm-layout.js';

/** The folded form's depthwise stage: a grouped Conv k×k with group = m and S outputs per group. */
export interface FoldedDw {
  /** (m·S) × k², output channel j·S + t */
  weight: Float32Array;
  bias: Float32Array;
}

export const canFold = (w: FtmWeights): boolean => w.gates.every((g) => g.every((x) => x === 0));

/**
 * With every fusion weight zero each gate is the constant sigmoid(0), so copy t of u_j is GATE_AT_ZERO·u_j (t > 0),
 * and the affine that follows folds into the depthwise kernels: channel (j, t) = scale_c·g_t·D_j + shift_c for the
 * original channel c = groups[j][t]. Outputs beyond C (short groups) stay zero and are dropped by the Gather/Slice.
 */
export function foldFtm(w: FtmWeights, layout: FtmLayout, k2: number): FoldedDw {
  const { m, s } = layout;
  const weight = new Float32Array(m * s * k2);
  const bias = new Float32Array(m * s);
  layout.groups.forEach((group, j) => {
    group.forEach((c, t) => {
      const k = j * s + t;
      const gain = w.scale[c] * (t === 0 ? 1 : GATE_AT_ZERO);
      for (let i = 0; i < k2; i++) weight[k * k2 + i] = gain * w.dw[j * k2 + i];
      bias[k] = w.shift[c];
    });
  });
  return { weight, bias };
}
