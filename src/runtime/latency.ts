import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { Runner } from './session.js';

/** Wall time of one run of each model on the same input, batch 1, warm. */
export interface LatencyComparison {
  batch: 1;
  /** Timed runs of each model (after the warm-up runs). */
  runs: number;
  threads: number;
  /** Median milliseconds per run. */
  beforeMs: number;
  afterMs: number;
}

export interface LatencyOptions {
  /** Timed runs per model (default 30). */
  runs?: number;
  /** Untimed runs per model first, so that allocations and thread start-up are not timed (default 5). */
  warmup?: number;
  threads?: number;
}

/**
 * Times `before` and `after` on onnxruntime, fed the first sample of `data`. The two models' runs interleave, so a
 * change in the machine's load (other processes, frequency scaling) falls on both alike; the median ignores the odd
 * slow run.
 */
export async function compareLatency(before: Model, after: Model, data: CalibrationSet, options: LatencyOptions = {}): Promise<LatencyComparison> {
  const runs = options.runs ?? 30;
  const warmup = options.warmup ?? 5;
  const threads = options.threads ?? availableParallelism();
  const runners = [await Runner.create(before, { threads }), await Runner.create(after, { threads })];
  const feeds = { [data.inputName]: { data: await firstSample(data), dims: [1, ...data.sampleShape] } };
  const times: number[][] = [[], []];
  try {
    for (let k = 0; k < warmup + runs; k++) {
      // Each model goes first every other round: neither always runs right after the other's caches.
      for (const m of k % 2 ? [1, 0] : [0, 1]) {
        const t0 = performance.now();
        await runners[m].run(feeds);
        if (k >= warmup) times[m].push(performance.now() - t0);
      }
    }
  } finally {
    for (const r of runners) await r.release();
  }
  return { batch: 1, runs, threads, beforeMs: median(times[0]), afterMs: median(times[1]) };
}

async function firstSample(data: CalibrationSet): Promise<Float32Array> {
  for await (const batch of data.batches(1)) return batch.data;
  throw ftmError('E_CALIB_EMPTY', 'expected a sample to time the models on, found none');
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
