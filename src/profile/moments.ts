import { ftmError } from '../errors.js';

/** One batch's statistics of a layer, as the statistics graph returns them (float32, see stats-graph.ts). */
export interface BatchMoments {
  /** Positions in the batch (samples × spatial positions). */
  positions: number;
  mean: ArrayLike<number>;
  /** Σ over the batch of (F − μ_batch)(F − μ_batch)ᵀ, C×C row-major. */
  gram: ArrayLike<number>;
  max: ArrayLike<number>;
  min: ArrayLike<number>;
}

/**
 * A layer's sufficient statistics over all positions seen so far, in float64: count, per-channel mean, the centered
 * co-moment matrix M = Σ (F − μ)(F − μ)ᵀ and the per-channel peak max |F|. Memory is O(C²) whatever the data size.
 *
 * Batches are merged with Chan et al.'s pairwise update (M = M_a + M_b + δδᵀ·n_a·n_b/n, δ = μ_b − μ_a) rather than by
 * summing raw Σ F Fᵀ: raw sums would lose the variance to cancellation when a channel's mean is large against its spread.
 */
export class ChannelMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly comoment: Float64Array;
  readonly peak: Float64Array;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.comoment = new Float64Array(channels * channels);
    this.peak = new Float64Array(channels);
  }

  add(batch: BatchMoments, where?: string): void {
    const c = this.channels;
    if (batch.mean.length !== c || batch.gram.length !== c * c || batch.max.length !== c || batch.min.length !== c) {
      throw ftmError('E_RUNTIME', `expected statistics for ${c} channels, found ${batch.mean.length}`, where);
    }
    const nb = batch.positions;
    if (nb === 0) return;
    const n = this.count + nb;
    const w = (this.count * nb) / n;
    const delta = Float64Array.from({ length: c }, (_, i) => batch.mean[i] - this.mean[i]);
    for (let i = 0; i < c; i++) {
      const row = i * c;
      for (let j = 0; j < c; j++) this.comoment[row + j] += batch.gram[row + j] + delta[i] * delta[j] * w;
      this.mean[i] += (delta[i] * nb) / n;
      this.peak[i] = Math.max(this.peak[i], Math.abs(batch.max[i]), Math.abs(batch.min[i]));
    }
    this.count = n;
  }

  /** Σ F Fᵀ over all positions, or with `centered` Σ (F − μ)(F − μ)ᵀ: the Gram matrix the redundancy is computed on. */
  gram(centered: boolean): Float64Array {
    if (centered) return this.comoment.slice();
    const c = this.channels;
    return Float64Array.from(this.comoment, (m, k) => m + this.count * this.mean[Math.floor(k / c)] * this.mean[k % c]);
  }
}
