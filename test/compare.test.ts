import { describe, expect, it } from 'vitest';
import { DataType, type Model } from '../src/index.js';
import { argmax, compareOutputs, outputError } from '../src/runtime/compare.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { memoryCalibration } from './helpers/memory-calib.js';
import { runOnce } from './helpers/ort.js';

/** x [N,2,8,8] → Conv 2→4 → `features` [N,4,8,8] (an output) → GlobalAveragePool → Gemm → `logits` [N,3]. */
function net(seed: number): Model {
  const { model, g, x } = modelWithInput(['N', 2, 8, 8]);
  const features = g.addNode({ op: 'Conv', name: 'conv', inputs: [x, randomWeight(g, 'w', [4, 2, 3, 3], seed)], attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
  const pooled = g.addNode({ op: 'Flatten', inputs: [g.addNode({ op: 'GlobalAveragePool', inputs: [features] }).outputs[0]!] }).outputs[0]!;
  const logits = g.addNode({ op: 'Gemm', name: 'fc', inputs: [pooled, randomWeight(g, 'fc.weight', [3, 4], seed + 1)], attrs: { transB: 1 } }).outputs[0]!;
  g.rename(features, 'features');
  g.rename(logits, 'logits');
  logits.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }] };
  g.outputs.push(logits, features);
  return model;
}

/** The metrics as plain loops over whole-data-set outputs of shape [n, per]. */
function reference(t: Float32Array, s: Float32Array, n: number) {
  const per = t.length / n;
  let err = 0, energy = 0, peak = 0, agree = 0;
  const mean = new Float64Array(per);
  for (let i = 0; i < t.length; i++) mean[i % per] += t[i] / n;
  let spread = 0;
  for (let i = 0; i < t.length; i++) {
    err += (s[i] - t[i]) ** 2;
    energy += t[i] ** 2;
    peak = Math.max(peak, Math.abs(t[i]));
    spread += (t[i] - mean[i % per]) ** 2;
  }
  for (let k = 0; k < n; k++) {
    const row = (a: Float32Array) => Array.from(a.subarray(k * per, (k + 1) * per));
    if (row(t).indexOf(Math.max(...row(t))) === row(s).indexOf(Math.max(...row(s)))) agree++;
  }
  return { relativeError: Math.sqrt(err / energy), psnr: 10 * Math.log10((peak * peak) / (err / t.length)), top1: agree / n, spreadError: err / spread };
}

describe('teacher-vs-student comparison', () => {
  it('relative error, PSNR, top-1 agreement and the fit’s spread error, per output, over batches, against loops', async () => {
    const teacher = net(1), student = net(2);
    const n = 21;
    const data = randomFloats(n * 128, 3);
    const [logits, features] = await compareOutputs(teacher, student, memoryCalibration('x', [2, 8, 8], data), ['logits', 'features'], { threads: 1, batchSize: 8 });
    const x = { data, dims: [n, 2, 8, 8] };
    const [t, s] = [await runOnce(teacher, { x }), await runOnce(student, { x })];

    const ref = reference(t.logits, s.logits, n);
    expect(ref.top1).toBeGreaterThan(0);
    expect(ref.top1).toBeLessThan(1);
    expect(logits.result().top1Agreement).toBe(ref.top1);
    expect(logits.result().relativeError).toBeCloseTo(ref.relativeError, 6);
    expect(logits.result().psnr).toBeCloseTo(ref.psnr, 6);
    expect(logits.spreadError()).toBeCloseTo(ref.spreadError, 6);
    expect(logits.samples).toBe(n);

    const refFeatures = reference(t.features, s.features, n);
    expect(features.result().top1Agreement).toBeNull(); // not a classifier output
    expect(features.result().relativeError).toBeCloseTo(refFeatures.relativeError, 6);
    expect(features.spreadError()).toBeCloseTo(refFeatures.spreadError, 6);

    const calib = memoryCalibration('x', [2, 8, 8], data);
    expect(await outputError(teacher, student, calib, { threads: 1, batchSize: 8 })).toBe(logits.spreadError());
    expect(await outputError(teacher, teacher, calib, { threads: 1 })).toBe(0);
  });

  it('argmax takes the first of equal values within the slice it is given', () => {
    expect(argmax([9, 1, 3, 3, 2], 1, 4)).toBe(1);
    expect(argmax([5, 5], 0, 2)).toBe(0);
  });
});
