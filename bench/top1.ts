import { Runner, type CalibrationSet, type Model } from '../src/index.js';
import { argmax } from '../src/runtime/compare.js';

/** Share of samples whose arg-max logit is the label. */
export async function top1(model: Model, data: CalibrationSet, labels: Uint8Array, threads: number): Promise<number> {
  const runner = await Runner.create(model, { threads });
  let correct = 0, seen = 0;
  try {
    for await (const b of data.batches(500)) {
      const out = await runner.run({ [data.inputName]: { data: b.data, dims: [b.count, ...data.sampleShape] } });
      const logits = Object.values(out)[0].data as Float32Array;
      const k = logits.length / b.count;
      for (let i = 0; i < b.count; i++, seen++) if (argmax(logits, i * k, k) === labels[seen]) correct++;
    }
  } finally {
    await runner.release();
  }
  return correct / seen;
}
