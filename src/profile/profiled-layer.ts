import type { LayerProfile } from '../rewrite/rule.js';
import { constantTensor, type ConvLayer } from './layers.js';
import type { ChannelMoments } from './moments.js';
import { bestPartners, psnrMatrix, redundancyScore, similarityMatrix } from './psnr.js';

/**
 * One layer's statistics from the profiling pass, for every rule: the LayerProfile a rule's `meta.stats` hook reads,
 * and the rule-free measures the reports and the planner use (best partners, redundancy score). The C×C matrices are
 * derived when first read, then kept.
 */
export class ProfiledLayer implements LayerProfile {
  readonly layer: string;
  readonly channels: number;
  readonly count: number;
  readonly gram: Float64Array;
  readonly mean: Float64Array;
  readonly peak: Float64Array;
  /** Weight and bias elements of the Conv. */
  readonly params: number;
  private derived?: { similarity: Float64Array; psnr: Float64Array; best: { partner: Int32Array; psnr: Float64Array } };

  constructor(
    readonly conv: ConvLayer,
    moments: ChannelMoments,
    /** The Conv output for one sample, as observed: [C, H, W]. */
    readonly outputShape: number[],
    readonly centered: boolean,
  ) {
    this.layer = conv.id;
    this.channels = moments.channels;
    this.count = moments.count;
    this.gram = moments.gram(centered);
    this.mean = moments.mean;
    this.peak = moments.peak;
    this.params = (constantTensor(conv.node.inputs[1])?.size ?? 0) + (constantTensor(conv.node.inputs[2])?.size ?? 0);
  }

  get similarity(): Float64Array {
    return this.derive().similarity;
  }

  get psnr(): Float64Array {
    return this.derive().psnr;
  }

  /** For each channel, the other channel that reproduces it best, and that PSNR. */
  get best(): { partner: Int32Array; psnr: Float64Array } {
    return this.derive().best;
  }

  /** Mean over channels of the best-partner PSNR in dB, each clipped (docs/redundancy.md). */
  get score(): number {
    return redundancyScore(this.best.psnr);
  }

  private derive() {
    if (!this.derived) {
      const similarity = similarityMatrix(this.gram, this.channels);
      const psnr = psnrMatrix(this.gram, this.peak, this.count, similarity);
      this.derived = { similarity, psnr, best: bestPartners(psnr, this.channels) };
    }
    return this.derived;
  }
}
