import { describe, expect, it } from 'vitest';
import { convMacsPerSample } from '../src/analysis/conv-macs.js';
import { DEFAULT_DISTILL_WORK, defaultDistillBudget } from '../src/distill/budget.js';
import { DEFAULT_DISTILL_STEPS } from '../src/distill/distill.js';
import { DataType } from '../src/ir/dtype.js';
import { loadModel } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';

/** x [N, 3, H, W] → Conv 3×3 (8, pads 1) → Relu → Conv 1×1 stride 2 (4). */
function twoConvs() {
  const { model, g, x } = modelWithInput(['N', 3, 'H', 'W']);
  const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'wa', [8, 3, 3, 3], 1)], attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
  const r = g.addNode({ op: 'Relu', inputs: [a] }).outputs[0]!;
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [r, randomWeight(g, 'wb', [4, 8, 1, 1], 2)], attrs: { strides: [2, 2] } }).outputs[0]!);
  return model;
}

describe('the cost of a model, in Conv MACs per sample', () => {
  it('sums output positions × C_out × C_in/group × kernel area over the convolutions, at the size of the samples', () => {
    const model = twoConvs();
    expect(convMacsPerSample(model.graph, 'x', [3, 8, 8])).toBe(8 * 8 * 8 * 3 * 9 + 4 * 4 * 4 * 8);
    expect(convMacsPerSample(model.graph, 'x', [3, 16, 12])).toBe(16 * 12 * 8 * 3 * 9 + 8 * 6 * 4 * 8);
  });

  it('is unknown (null) when a convolution\'s size cannot be propagated', () => {
    // a weight fed at run time with no declared shape: neither its channels nor its kernel are known
    const { model, g, x } = modelWithInput(['N', 3, 8, 8]);
    const w = g.define('w');
    w.type = { kind: 'tensor', elemType: DataType.FLOAT };
    g.inputs.push(w);
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [x, w] }).outputs[0]!);
    expect(convMacsPerSample(model.graph, 'x', [3, 8, 8])).toBeNull();
  });
});

describe('the default distillation budget follows the model\'s cost', () => {
  const fixtureMacs = convMacsPerSample(loadModel('fixtures/resnet20/model.onnx').graph, 'input', [1, 28, 28])!;

  it('keeps the full step budget on the fixture, where it was chosen, at batch 64 and below', () => {
    expect(fixtureMacs).toBeGreaterThan(30e6);
    expect(defaultDistillBudget(fixtureMacs, 64)).toEqual({ steps: DEFAULT_DISTILL_STEPS, macsPerSample: fixtureMacs });
    expect(defaultDistillBudget(fixtureMacs, 49)).toEqual({ steps: DEFAULT_DISTILL_STEPS, macsPerSample: fixtureMacs });
  });

  it('gives a costlier model proportionally fewer steps, the same work', () => {
    const { steps } = defaultDistillBudget(10 * fixtureMacs, 64) as { steps: number };
    expect(steps).toBe(Math.floor(DEFAULT_DISTILL_WORK / (64 * 10 * fixtureMacs)));
    expect(steps).toBeGreaterThan(DEFAULT_DISTILL_STEPS / 11);
    expect(steps).toBeLessThan(DEFAULT_DISTILL_STEPS / 9);
  });

  it('skips distillation when the budget is less than a warm-up, saying how to run it', () => {
    // A ResNet-18 at 224×224 (1.8 G Conv MACs per sample) on 49 fitting samples: 13 steps.
    const budget = defaultDistillBudget(1.82e9, 49);
    expect(budget).toEqual({ macsPerSample: 1.82e9, skipped: expect.stringMatching(/gives 13 steps of 49 samples on this model \(1820\.0 M Conv MACs per sample\), fewer than the 25 of a warm-up; --distill-steps N or --distill-time S runs it$/) });
  });

  it('keeps the step budget when the cost is unknown', () => {
    expect(defaultDistillBudget(null, 64)).toEqual({ steps: DEFAULT_DISTILL_STEPS, macsPerSample: null });
  });
});
