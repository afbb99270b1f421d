import * as ort from 'onnxruntime-node';
import { applyRules, encodeModel, loadModel } from '../src/index.js';
import { foldGather, ftm } from '../rewrites/index.js';
import { interleave, median } from './timing.js';

/**
 * onnxruntime latency of the fixture before and after an FTM rewrite of every qualifying conv (folded form, channel
 * reorders folded into consumers), at batch 1 and 32, interleaved.
 */
export async function benchLatency(modelPath: string, threads: number, rounds = 60): Promise<string[][]> {
  const original = loadModel(modelPath);
  const rewritten = applyRules(applyRules(original, [ftm]).model, [foldGather]).model;
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const sessions = {
    original: await ort.InferenceSession.create(encodeModel(original), opts),
    ftm: await ort.InferenceSession.create(encodeModel(rewritten), opts),
  };
  const rows: string[][] = [];
  for (const batch of [1, 32]) {
    const input = new ort.Tensor('float32', new Float32Array(batch * 784).map((_, i) => Math.sin(i)), [batch, 1, 28, 28]);
    const t = await interleave({ original: () => sessions.original.run({ input }), ftm: () => sessions.ftm.run({ input }) }, batch === 1 ? rounds * 4 : rounds);
    const [a, b] = [median(t.original), median(t.ftm)];
    rows.push([String(batch), a.toFixed(3), b.toFixed(3), (b / a).toFixed(2)]);
  }
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  return rows;
}
