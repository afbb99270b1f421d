import type { Model } from '../src/index.js';
import { timeInterleaved } from '../src/runtime/latency.js';

/**
 * Median onnxruntime latency (ms) of two models on the same input at each batch size: the main job's measurement
 * (interleaved, warm), with a longer budget per model and batch size than the job spends.
 */
export async function compareLatency(a: Model, b: Model, sampleShape: number[], batches: number[], threads: number, seconds = 3): Promise<{ batch: number; a: number; b: number }[]> {
  const inputs = batches.map((batch) => ({ data: new Float32Array(sampleShape.reduce((x, y) => x * y, batch)).map((_, i) => Math.sin(i)), dims: [batch, ...sampleShape] }));
  const rows = await timeInterleaved(a, b, a.graph.inputs[0].name, inputs, { threads, seconds, maxRuns: 1000 });
  return rows.map((r) => ({ batch: r.batch, a: r.originalMs, b: r.compressedMs }));
}
