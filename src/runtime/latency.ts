import { availableParallelism } from 'node:os';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { Runner, type FloatTensor } from './session.js';

/** The larger batch latency is timed at, at most: past a few dozen samples a CNN's time per sample stops changing,
 * only the wait grows. */
export const MAX_LATENCY_BATCH = 32;

/** Median wall time of one run of each model on the same input, at one batch size, warm. */
export interface LatencyAtBatch {
  batch: number;
  /** Timed runs of each model (after the warm-up). */
  runs: number;
  /** Median milliseconds per run. */
  originalMs: number;
  compressedMs: number;
  /** compressedMs / originalMs: below 1 is faster. */
  ratio: number;
}

/** The two models timed at batch 1 and at a larger batch (absent when the model's input fixes its batch size). */
export interface LatencyComparison {
  threads: number;
  batch1?: LatencyAtBatch;
  batchN?: LatencyAtBatch;
}

export interface LatencyOptions {
  /** The larger batch size (default: none, batch 1 only). */
  batchSize?: number;
  /** Each model is timed until its runs add up to this many seconds at each batch size (default 0.5)... */
  seconds?: number;
  /** ...with at least this many timed runs (default 5)... */
  minRuns?: number;
  /** ...and at most this many (default 200). */
  maxRuns?: number;
  threads?: number;
}

/**
 * Times `original` and `compressed` on onnxruntime at batch 1 and at `batchSize`, fed the first calibration samples.
 * Sizes the model's input fixes to another batch are left out.
 */
export async function compareLatency(original: Model, compressed: Model, data: CalibrationSet, options: LatencyOptions = {}): Promise<LatencyComparison> {
  const fixed = original.graph.inputs.find((v) => v.name === data.inputName)?.shape?.[0];
  const wanted = [1, Math.min(options.batchSize ?? 1, data.count)];
  const sizes = [...new Set(typeof fixed === 'number' ? [fixed] : wanted)];
  const inputs: FloatTensor[] = [];
  for (const n of sizes) inputs.push({ data: await firstSamples(data, n), dims: [n, ...data.sampleShape] });
  const threads = options.threads ?? availableParallelism();
  const timed = await timeInterleaved(original, compressed, data.inputName, inputs, { ...options, threads });
  return { threads, ...Object.fromEntries(timed.map((t) => [t.batch === 1 ? 'batch1' : 'batchN', t])) };
}

/**
 * The two models' turns alternate, and which goes first alternates too, so a change in the machine's load falls on
 * both alike; the median ignores the odd slow run. Each turn runs a model twice and times the second run: the first
 * pays for the other model having just had the caches (and onnxruntime's spinning threads), which a deployed model
 * running alone does not.
 */
export async function timeInterleaved(original: Model, compressed: Model, inputName: string, inputs: FloatTensor[], options: LatencyOptions = {}): Promise<LatencyAtBatch[]> {
  const budgetMs = 1000 * (options.seconds ?? 0.5);
  const minRuns = options.minRuns ?? 5;
  const maxRuns = options.maxRuns ?? 200;
  const runners = [await Runner.create(original, { threads: options.threads })];
  try {
    runners.push(await Runner.create(compressed, { threads: options.threads }));
    const results: LatencyAtBatch[] = [];
    for (const input of inputs) {
      const feeds = { [inputName]: input };
      const times: number[][] = [[], []];
      for (const r of runners) await r.run(feeds); // warm-up: allocations, thread start-up
      const spent = () => Math.min(sum(times[0]), sum(times[1]));
      while (times[0].length < maxRuns && (times[0].length < minRuns || spent() < budgetMs)) {
        for (const m of times[0].length % 2 ? [1, 0] : [0, 1]) {
          await runners[m].run(feeds);
          const t0 = performance.now();
          await runners[m].run(feeds);
          times[m].push(performance.now() - t0);
        }
      }
      const [originalMs, compressedMs] = times.map(median);
      results.push({ batch: input.dims[0], runs: times[0].length, originalMs, compressedMs, ratio: compressedMs / originalMs });
    }
    return results;
  } finally {
    for (const r of runners) await r.release();
  }
}

async function firstSamples(data: CalibrationSet, n: number): Promise<Float32Array> {
  for await (const batch of data.batches(n)) return batch.data;
  throw ftmError('E_CALIB_EMPTY', 'expected a sample to time the models on, found none');
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
