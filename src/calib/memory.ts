import type { CalibBatch, CalibrationSet } from './types.js';

/** A calibration set over samples already in memory (`data` holds them all, concatenated): data from code, tests. */
export function calibrationFromArray(inputName: string, sampleShape: number[], data: Float32Array): CalibrationSet {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const count = data.length / size;
  return {
    inputName,
    sampleShape,
    count,
    async *batches(batchSize: number): AsyncGenerator<CalibBatch> {
      for (let start = 0; start < count; start += batchSize) {
        const n = Math.min(batchSize, count - start);
        yield { data: data.slice(start * size, (start + n) * size), count: n, sources: Array(n).fill('memory') };
      }
    },
    subset(indices: number[]): CalibrationSet {
      const picked = new Float32Array(indices.length * size);
      indices.forEach((i, k) => picked.set(data.subarray(i * size, (i + 1) * size), k * size));
      return calibrationFromArray(inputName, sampleShape, picked);
    },
  };
}
