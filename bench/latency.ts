import * as ort from 'onnxruntime-node';
import { encodeModel, type Model } from '../src/index.js';
import { interleave, median } from './timing.js';

/** Median onnxruntime latency (ms) of two models on the same input, interleaved, at each batch size. */
export async function compareLatency(a: Model, b: Model, sampleShape: number[], batches: number[], threads: number, rounds = 60): Promise<{ batch: number; a: number; b: number }[]> {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const [sa, sb] = [await ort.InferenceSession.create(encodeModel(a), opts), await ort.InferenceSession.create(encodeModel(b), opts)];
  const rows: { batch: number; a: number; b: number }[] = [];
  try {
    for (const batch of batches) {
      const size = sampleShape.reduce((x, y) => x * y, batch);
      const input = { [sa.inputNames[0]]: new ort.Tensor('float32', new Float32Array(size).map((_, i) => Math.sin(i)), [batch, ...sampleShape]) };
      const t = await interleave({ a: () => sa.run(input), b: () => sb.run(input) }, batch === 1 ? rounds * 4 : rounds);
      rows.push({ batch, a: median(t.a), b: median(t.b) });
    }
  } finally {
    await Promise.all([sa.release(), sb.release()]);
  }
  return rows;
}
