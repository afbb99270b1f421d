/**
 * The redundancy maths of docs/redundancy.md, as pure functions of a layer's Gram matrix G (C×C, row-major, float64),
 * its per-channel peaks max |F_i| and the number n of positions. For output maps F_i, F_j:
 *   MSE_ij = min_a E[(F_i − a·F_j)²] = (G_ii − G_ij²/G_jj)/n,   PSNR_ij = 10·log10(peak_i² / MSE_ij).
 * With a centered G (covariances), the same formulas give the best affine copy a·F_j + b instead.
 */

/**
 * A residual below this share of a map's energy (1 − R² ≤ 1e-5) counts as an exact copy and gets PSNR +∞. It is the
 * resolution of the statistics, which float32 GEMMs accumulate: exact and scaled copies measure far below it, unrelated
 * channels far above (measured: docs/redundancy.md, "exact copy").
 */
export const EXACT_RESIDUAL = 1e-5;

/** Best-partner PSNRs are clipped here before a layer's score averages them, so one exact copy cannot make it +∞. */
export const PSNR_CAP = 100;

/** R²_ij = G_ij² / (G_ii·G_jj), in [0, 1]: the share of map i's energy that the best scaled copy of map j explains. */
export function similarityMatrix(gram: Float64Array, c: number): Float64Array {
  const r2 = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      const gii = gram[i * c + i];
      const gjj = gram[j * c + j];
      const gij = gram[i * c + j];
      // A zero map is a copy of anything (a = 0) and the copy of nothing.
      r2[i * c + j] = i === j || gii <= 0 ? 1 : gjj <= 0 ? 0 : Math.min(1, (gij * gij) / (gii * gjj));
    }
  }
  return r2;
}

/**
 * PSNR_ij in dB (row i: the map reproduced; column j: the map it is made from), C×C. +∞ where map j reproduces map i
 * exactly (within EXACT_RESIDUAL), which includes the diagonal and maps that are zero (or, centered, constant).
 * `r2`: the similarity matrix of `gram`, when the caller has it.
 */
export function psnrMatrix(gram: Float64Array, peak: ArrayLike<number>, n: number, r2 = similarityMatrix(gram, peak.length)): Float64Array {
  const c = peak.length;
  const psnr = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    const energy = gram[i * c + i] / n; // E[F_i²]: the MSE of reproducing map i by zero
    for (let j = 0; j < c; j++) {
      const residual = 1 - r2[i * c + j];
      psnr[i * c + j] = residual <= EXACT_RESIDUAL ? Infinity : 10 * Math.log10((peak[i] * peak[i]) / (energy * residual));
    }
  }
  return psnr;
}

/** The least-squares factor a of F_i ≈ a·F_j: G_ij / G_jj (0 when map j is zero). */
export function copyScale(gram: Float64Array, c: number, i: number, j: number): number {
  const gjj = gram[j * c + j];
  return gjj > 0 ? gram[i * c + j] / gjj : 0;
}

/** For each channel, the other channel that reproduces it best and that PSNR; a lone channel gets partner -1, 0 dB. */
export function bestPartners(psnr: Float64Array, c: number): { partner: Int32Array; psnr: Float64Array } {
  const partner = new Int32Array(c).fill(-1);
  const best = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      if (j !== i && (partner[i] === -1 || psnr[i * c + j] > best[i])) {
        partner[i] = j;
        best[i] = psnr[i * c + j];
      }
    }
  }
  return { partner, psnr: best };
}

/** A layer's redundancy score: the mean over channels of the best-partner PSNR, each clipped at PSNR_CAP, in dB. */
export function redundancyScore(best: Float64Array): number {
  return best.length === 0 ? 0 : best.reduce((sum, p) => sum + Math.min(p, PSNR_CAP), 0) / best.length;
}

/** The share of channels whose best partner reaches `threshold` dB. */
export function shareAbove(best: Float64Array, threshold: number): number {
  return best.length === 0 ? 0 : best.filter((p) => p >= threshold).length / best.length;
}
