import { describe, expect, it } from 'vitest';
import { convMacsPerSample } from '../src/analysis/conv-macs.js';
import { DEFAULT_DISTILL_WORK, defaultDistillBudget, REFERENCE_SAMPLES, STEP_OVERHEAD } from '../src/distill/budget.js';
import { DEFAULT_HOLDOUT, VALIDATION_SHARE } from '../src/compress/compress.js';
import { setAsideCount } from '../src/compress/split.js';
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

  it('gives the fixture, where the step budget was chosen, about that budget at batch 64', () => {
    expect(fixtureMacs).toBeGreaterThan(30e6);
    const { steps } = defaultDistillBudget(fixtureMacs, 64) as { steps: number };
    expect(steps).toBeGreaterThanOrEqual(DEFAULT_DISTILL_STEPS);
    expect(steps).toBeLessThan(1.05 * DEFAULT_DISTILL_STEPS);
  });

  it('gives a costlier model proportionally fewer steps, the same work', () => {
    const { steps } = defaultDistillBudget(10 * fixtureMacs, 64) as { steps: number };
    expect(steps).toBe(Math.floor(DEFAULT_DISTILL_WORK / (64 * 10 * fixtureMacs + STEP_OVERHEAD)));
    expect(steps).toBeGreaterThan(DEFAULT_DISTILL_STEPS / 11);
    expect(steps).toBeLessThan(DEFAULT_DISTILL_STEPS / 6);
  });

  it('gives a cheaper model more steps, bounded by the per-step overhead at any batch', () => {
    // The MobileNetV2-style fixture's cost: a sixth of the ResNet-20's.
    const cheap = defaultDistillBudget(5.2e6, 64) as { steps: number };
    expect(cheap.steps).toBeGreaterThan(2 * DEFAULT_DISTILL_STEPS);
    for (const batch of [1, 8, 64]) {
      const { steps } = defaultDistillBudget(1000, batch) as { steps: number };
      expect(steps).toBeLessThanOrEqual(DEFAULT_DISTILL_WORK / STEP_OVERHEAD);
      expect(steps).toBeGreaterThan(0.99 * (DEFAULT_DISTILL_WORK / STEP_OVERHEAD));
    }
    expect(DEFAULT_DISTILL_WORK / STEP_OVERHEAD).toBeLessThan(4 * DEFAULT_DISTILL_STEPS);
  });

  it('skips distillation when the budget is less than a warm-up, saying how to run it', () => {
    // A ResNet-18 at 224×224 (1.8 G Conv MACs per sample) on 49 fitting samples: 20 steps.
    const budget = defaultDistillBudget(1.82e9, 49);
    expect(budget).toEqual({ macsPerSample: 1.82e9, skipped: expect.stringMatching(/gives 20 steps of 49 samples on this model \(1820\.0 M Conv MACs per sample, and a step's overhead\), fewer than the 25 of a warm-up; --distill-steps N or --distill-time S runs it$/) });
  });

  it('grows with the square root of the training samples beyond the reference, and never shrinks below it', () => {
    const steps = (samples: number, macs: number | null = fixtureMacs) => (defaultDistillBudget(macs, 64, samples) as { steps: number }).steps;
    // The reference is what 256 calibration images train on at the default split, where the work was chosen.
    const trained = (images: number) => [DEFAULT_HOLDOUT, VALIDATION_SHARE].reduce((n, share) => n - setAsideCount(n, share), images);
    expect(trained(256)).toBe(REFERENCE_SAMPLES);
    expect(trained(1024)).toBe(4 * REFERENCE_SAMPLES);
    expect(steps(4 * REFERENCE_SAMPLES)).toBe(Math.floor((2 * DEFAULT_DISTILL_WORK) / (64 * fixtureMacs + STEP_OVERHEAD)));
    expect(steps(9 * REFERENCE_SAMPLES)).toBe(Math.floor((3 * DEFAULT_DISTILL_WORK) / (64 * fixtureMacs + STEP_OVERHEAD)));
    for (const few of [16, 49, REFERENCE_SAMPLES]) expect(steps(few)).toBe(steps(REFERENCE_SAMPLES));
    expect(steps(4 * REFERENCE_SAMPLES, null)).toBe(2 * DEFAULT_DISTILL_STEPS);
  });

  it('keeps the step budget when the cost is unknown', () => {
    expect(defaultDistillBudget(null, 64)).toEqual({ steps: DEFAULT_DISTILL_STEPS, macsPerSample: null });
  });
});
