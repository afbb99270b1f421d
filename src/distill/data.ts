import { mulberry32 } from '../calib/random.js';
import type { CalibrationSet } from '../calib/types.js';

/** Sets up to this many float32 values are read into memory once; larger ones are read per batch through `subset`. */
const IN_MEMORY_LIMIT = 1 << 27;

/**
 * Training batches drawn from a calibration set: every sample once per epoch in a seeded shuffled order, a new order
 * each epoch, always `batchSize` samples (an epoch's tail shorter than a batch is left for the next epoch's order;
 * a set smaller than a batch is one batch). The same seed gives the same sequence of batches.
 */
export class BatchCycler {
  private readonly random: () => number;
  private order: number[] = [];
  private at = 0;
  /** Completed passes over the data. */
  epochs = 0;

  private constructor(
    private readonly calib: CalibrationSet,
    private readonly all: Float32Array | undefined,
    readonly batchSize: number,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  static async create(calib: CalibrationSet, batchSize: number, seed: number): Promise<BatchCycler> {
    const size = sampleSize(calib);
    const all = calib.count * size <= IN_MEMORY_LIMIT ? await readAll(calib) : undefined;
    return new BatchCycler(calib, all, Math.min(batchSize, calib.count), seed);
  }

  /** The sample indices of the next batch. */
  nextIndices(): number[] {
    if (this.at + this.batchSize > this.order.length) {
      if (this.order.length) this.epochs++;
      this.order = shuffled(this.calib.count, this.random);
      this.at = 0;
    }
    const picked = this.order.slice(this.at, this.at + this.batchSize);
    this.at += this.batchSize;
    return picked;
  }

  /** The next batch: `count` samples concatenated, and their indices. */
  async next(): Promise<{ data: Float32Array; count: number; indices: number[] }> {
    const indices = this.nextIndices();
    return { data: await this.read(indices), count: indices.length, indices };
  }

  private async read(indices: number[]): Promise<Float32Array> {
    const size = sampleSize(this.calib);
    if (this.all) {
      const out = new Float32Array(indices.length * size);
      indices.forEach((i, k) => out.set(this.all!.subarray(i * size, (i + 1) * size), k * size));
      return out;
    }
    return readAll(this.calib.subset(indices));
  }
}

export const sampleSize = (calib: CalibrationSet): number => calib.sampleShape.reduce((a, b) => a * b, 1);

/** Every sample of the set, concatenated in its order. */
export async function readAll(calib: CalibrationSet): Promise<Float32Array> {
  const out = new Float32Array(calib.count * sampleSize(calib));
  let at = 0;
  for await (const b of calib.batches(256)) {
    out.set(b.data, at);
    at += b.data.length;
  }
  return out;
}

/** 0..n−1 in a uniformly random order (Fisher–Yates). */
function shuffled(n: number, random: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Whether the samples look like images from files (augmentation's default): [C, H, W] read from image files. */
export async function looksLikeImages(calib: CalibrationSet): Promise<boolean> {
  if (calib.sampleShape.length !== 3) return false;
  for await (const b of calib.batches(1)) return /\.(png|jpe?g|webp|gif|tiff?|bmp|avif)$/i.test(b.sources[0] ?? '');
  return false;
}
