import { decodeImage, type ImageHeader, type ImageTransform } from './images.js';
import { readNpyFloats, type NpyFile } from './npy.js';
import type { CalibBatch, CalibrationSet } from './types.js';

/** Where one sample comes from: an image file, or sample `index` of an .npy file. */
export type Sample =
  | { kind: 'image'; file: string; header: ImageHeader; transform: ImageTransform }
  | { kind: 'npy'; npy: NpyFile; index: number };

/**
 * A calibration set that holds only where its samples are, and decodes them batch by batch, so memory stays at two
 * batches whatever the size of the set.
 */
export class StreamedCalibrationSet implements CalibrationSet {
  private readonly sampleSize: number;

  constructor(
    readonly inputName: string,
    readonly sampleShape: number[],
    private readonly samples: readonly Sample[],
  ) {
    this.sampleSize = sampleShape.reduce((n, d) => n * d, 1);
  }

  get count(): number {
    return this.samples.length;
  }

  async *batches(batchSize: number): AsyncGenerator<CalibBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const decode = (start: number) => this.decode(this.samples.slice(start, start + batchSize));
    // The next batch decodes while the caller works on this one (onnxruntime and sharp both run off the main thread).
    let next = this.count > 0 ? decode(0) : undefined;
    for (let start = 0; next; start += batchSize) {
      const batch = await next;
      next = start + batchSize < this.count ? decode(start + batchSize) : undefined;
      // A caller that stops early never awaits the prefetch: its failure must not become an unhandled rejection.
      next?.catch(() => undefined);
      yield batch;
    }
  }

  subset(indices: number[]): CalibrationSet {
    const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= this.count);
    if (bad !== undefined) throw new RangeError(`subset: index ${bad} is not a sample index of a set of ${this.count}`);
    return new StreamedCalibrationSet(this.inputName, this.sampleShape, indices.map((i) => this.samples[i]));
  }

  private async decode(samples: readonly Sample[]): Promise<CalibBatch> {
    const size = this.sampleSize;
    const data = new Float32Array(samples.length * size);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < samples.length; ) {
      const s = samples[i];
      if (s.kind === 'image') {
        jobs.push(decodeImage(s.file, s.header, s.transform, data.subarray(i * size, (i + 1) * size)));
        i++;
        continue;
      }
      // Consecutive samples of one .npy file come in one read.
      let j = i + 1;
      for (; j < samples.length; j++) {
        const t = samples[j];
        if (t.kind !== 'npy' || t.npy !== s.npy || t.index !== s.index + (j - i)) break;
      }
      jobs.push(readNpyFloats(s.npy, s.index * size, data.subarray(i * size, j * size)));
      i = j;
    }
    await Promise.all(jobs);
    return { data, count: samples.length, sources: samples.map((s) => (s.kind === 'image' ? s.file : s.npy.file)) };
  }
}
