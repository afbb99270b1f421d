import { describe, expect, it } from 'vitest';
import { ftm } from '../rewrites/ftm.js';
import { Adam } from '../src/distill/adam.js';
import { distill } from '../src/distill/distill.js';
import { Augmenter, type SampleDraw } from '../src/distill/augment.js';
import { BatchCycler } from '../src/distill/data.js';
import { featurePairs } from '../src/distill/features.js';
import { HeldOutEvaluator, inferenceWithParamInputs, softKl } from '../src/distill/held-out.js';
import { DivergenceWatch } from '../src/distill/divergence.js';
import { tensorLrScales } from '../src/distill/lr-scale.js';
import { cosineLr, stepProgress, warmupShare } from '../src/distill/schedule.js';
import { newParameterNames, trainableNames } from '../src/distill/trainable.js';
import { applyRules, DataType, Runner, type Model } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { memoryCalibration } from './helpers/memory-calib.js';
import { runOnce } from './helpers/ort.js';
import { relMaxError } from './helpers/reference.js';

/**
 * A small classifier: x [N, 2, 8, 8] → Conv 3×3 (8) → Relu → Conv 3×3 (8) → Relu → GlobalAveragePool → Flatten →
 * Gemm → logits [N, 3]. Weights drawn from `seed`.
 */
export function smallConvNet(seed: number): Model {
  const { model, g, x } = modelWithInput(['N', 2, 8, 8]);
  const conv = (input: typeof x, name: string, cin: number, s: number) =>
    g.addNode({ op: 'Conv', name, inputs: [input, randomWeight(g, `${name}.weight`, [8, cin, 3, 3], s), randomWeight(g, `${name}.bias`, [8], s + 1)], attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
  const relu = (v: typeof x) => g.addNode({ op: 'Relu', inputs: [v] }).outputs[0]!;
  const h = relu(conv(relu(conv(x, 'c1', 2, seed)), 'c2', 8, seed + 10));
  const pooled = g.addNode({ op: 'Flatten', inputs: [g.addNode({ op: 'GlobalAveragePool', inputs: [h] }).outputs[0]!] }).outputs[0]!;
  const logits = g.addNode({ op: 'Gemm', name: 'fc', inputs: [pooled, randomWeight(g, 'fc.weight', [3, 8], seed + 20), randomWeight(g, 'fc.bias', [3], seed + 21)], attrs: { transB: 1 } }).outputs[0]!;
  g.rename(logits, 'logits');
  logits.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }] };
  g.outputs.push(logits);
  return model;
}

const images = (n: number, seed: number) => memoryCalibration('x', [2, 8, 8], randomFloats(n * 128, seed));
const heldOutData = randomFloats(32 * 128, 22);

/** The model with `op` over the classes appended to its logits, as graph output "probs" (the logits stay inside). */
function withFinal(model: Model, op: 'Softmax' | 'LogSoftmax'): Model {
  const g = model.graph;
  const logits = g.outputs.pop()!;
  const probs = g.addNode({ op, inputs: [logits], attrs: { axis: -1 } }).outputs[0]!;
  g.rename(probs, 'probs');
  probs.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }] };
  g.outputs.push(probs);
  return model;
}

/** What `op` makes of [32, 3] logits. */
function withFinalOutputs(logits: ArrayLike<number>, op: 'Softmax' | 'LogSoftmax'): number[] {
  const out: number[] = [];
  for (let n = 0; n < 32; n++) {
    const row = Array.from({ length: 3 }, (_, c) => logits[n * 3 + c]);
    const max = Math.max(...row), sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
    for (const v of row) out.push(op === 'Softmax' ? Math.exp(v - max) / sum : v - max - Math.log(sum));
  }
  return out;
}

describe('Adam', () => {
  it('matches the first steps computed by hand on f(x) = x² (lr 0.1 from x = 1)', () => {
    // t=1: m̂ = g, v̂ = g², so the step is lr·g/|g| = 0.1. t=2: g = 1.8, m = 0.36, v = 0.007236, m̂ = 0.36/0.19,
    // v̂ = 0.007236/0.001999, x = 0.9 − 0.1·m̂/√v̂ = 0.80041223. t=3 likewise.
    const x = Float32Array.of(1);
    const adam = new Adam(new Map([['x', x]]));
    const expected = [0.9000000005, 0.8004122286917928, 0.7015862729460303];
    for (const e of expected) {
      adam.step({ x: [2 * x[0]] }, 0.1);
      expect(x[0]).toBeCloseTo(e, 6);
    }
    expect(adam.t).toBe(3);
  });

  it('converges to the optimum of a separable quadratic with very different curvatures', () => {
    const n = 50;
    const a = Float32Array.from({ length: n }, (_, i) => 10 ** ((i % 5) - 2)); // curvatures 0.01 … 100
    const c = randomFloats(n, 7);
    const w = new Float32Array(n);
    const b = Float32Array.of(5);
    const adam = new Adam(new Map([['w', w], ['b', b]]));
    for (let t = 0; t < 3000; t++) {
      const lr = cosineLr(stepProgress(t, 3000), { base: 0.05 });
      adam.step(new Map<string, ArrayLike<number>>([['w', Float32Array.from(w, (v, i) => 2 * a[i] * (v - c[i]))], ['b', [2 * (b[0] + 1)]]]), lr);
    }
    for (let i = 0; i < n; i++) expect(Math.abs(w[i] - c[i])).toBeLessThan(1e-3);
    expect(b[0]).toBeCloseTo(-1, 3);
  });

  it('decays weights decoupled from the gradient, and leaves parameters without a gradient alone', () => {
    const p = Float32Array.of(2, -4);
    const q = Float32Array.of(3);
    const adam = new Adam(new Map([['p', p], ['q', q]]), { weightDecay: 0.5 });
    adam.step({ p: [0, 0] }, 0.1); // zero gradient: only the decay p·(1 − lr·λ)
    expect(Array.from(p)).toEqual([2 * 0.95, -4 * 0.95].map(Math.fround));
    expect(q[0]).toBe(3);
    expect(() => adam.step({ p: [1] }, 0.1)).toThrow(/gradient of "p" has 1 values, the parameter 2/);
  });
});

describe('cosine schedule with linear warm-up', () => {
  it('rises linearly to the base rate, then follows half a cosine down to the floor', () => {
    const s = { base: 0.01, warmup: 0.1 };
    expect(cosineLr(0, s)).toBe(0);
    expect(cosineLr(0.05, s)).toBeCloseTo(0.005, 12);
    expect(cosineLr(0.1, s)).toBeCloseTo(0.01, 12);
    expect(cosineLr(0.55, s)).toBeCloseTo(0.005, 12); // halfway through the cosine part
    expect(cosineLr(0.1 + 0.9 / 3, s)).toBeCloseTo(0.01 * 0.75, 12); // (1 + cos 60°)/2
    expect(cosineLr(1, s)).toBeCloseTo(0, 12);
    expect(cosineLr(1, { ...s, floor: 0.1 })).toBeCloseTo(0.001, 12);
    expect(cosineLr(2, s)).toBeCloseTo(0, 12); // clamped past the end
    expect(cosineLr(0.5, { base: 1, warmup: 0 })).toBeCloseTo(0.5, 12);
    expect(stepProgress(0, 10)).toBe(0.05);
    expect(stepProgress(9, 10)).toBe(0.95);
  });

  it('warms up over 5% of a long budget, at least 25 steps of a short one, at most 30% of a very short one', () => {
    expect(warmupShare(1000)).toBe(0.05);
    expect(warmupShare(100) * 100).toBeCloseTo(25, 12);
    expect(warmupShare(20)).toBe(0.3);
    expect(warmupShare(undefined)).toBe(0.05);
  });
});

describe('stable training', () => {
  it('scales each tensor\'s learning rate by its RMS; a tensor far below the others gets the median', () => {
    const scales = tensorLrScales(new Map([
      ['big', Float32Array.of(3, -3, 3, -3)],
      ['small', Float32Array.of(0.1, -0.1)],
      ['mid', Float32Array.of(1, 1, -1)],
      ['zero', new Float32Array(5)],
      ['tiny', Float32Array.of(1e-3)],
    ]));
    expect(Object.fromEntries(scales)).toEqual({ big: 3, small: expect.closeTo(0.1, 6), mid: 1, zero: 1, tiny: 1 });
    // Adam applies them: one step moves each element by about lr × its tensor's factor.
    const params = new Map([['a', Float32Array.of(1, 1)], ['b', Float32Array.of(1, 1)]]);
    new Adam(params, { lrScales: new Map([['a', 10], ['b', 0.1]]) }).step({ a: [1, -1], b: [1, -1] }, 0.01);
    expect(Array.from(params.get('a')!).map((v) => v - 1)).toEqual([expect.closeTo(-0.1, 6), expect.closeTo(0.1, 6)]);
    expect(Array.from(params.get('b')!).map((v) => v - 1)).toEqual([expect.closeTo(-0.001, 6), expect.closeTo(0.001, 6)]);
  });

  it('sees divergence in a loss that is not finite, or stays far above the start for a stretch, not in a spike', () => {
    const watch = () => new DivergenceWatch({ factor: 4, patience: 3 });
    const feed = (w: DivergenceWatch, losses: number[]) => losses.map((l) => w.observe(l)).findIndex((r) => r !== undefined);
    expect(feed(watch(), [1, 10, 1, 10, 10, 1, 3.9, 3.9, 3.9, 3.9])).toBe(-1);
    // The start is the first loss, not the first few: a rate far too large sends the second one up already.
    expect(feed(watch(), [1, 1e6, 1e7, 1e8])).toBe(3);
    const w = watch();
    expect(feed(w, [2, 9, 9])).toBe(-1);
    expect(w.startLoss).toBe(2);
    expect(w.observe(9)).toBe('the loss stayed above 4× the starting loss 2.000 for 3 steps (last 9.000)');
    expect(watch().observe(NaN)).toBe('the loss became NaN');
    expect(feed(watch(), [2, 2, Infinity])).toBe(2);
  });

  it('judges a starting loss of ~0 (student equal to its teacher) against a floor, not against 4× 0', () => {
    const noise = [0, 1e-9, 3e-9, 2e-9, 1e-9, 3e-9];
    const feed = (w: DivergenceWatch, losses: number[]) => losses.map((l) => w.observe(l)).findIndex((r) => r !== undefined);
    expect(feed(new DivergenceWatch({ factor: 4, patience: 3, floor: 1e-6 }), noise)).toBe(-1);
    const w = new DivergenceWatch({ factor: 4, patience: 3, floor: 1e-6 });
    expect(feed(w, [0, 5e-6, 5e-6])).toBe(-1);
    expect(w.observe(5e-6)).toBe('the loss stayed above 4× the loss floor 0.000001000 (the starting loss 0.000 is below it) for 3 steps (last 0.000005000)');
    // Above the floor, the start is the reference as before.
    expect(feed(new DivergenceWatch({ factor: 4, patience: 3, floor: 1e-6 }), [1, 5, 5, 5])).toBe(3);
  });

  it('a student already equal to its teacher is not trained (nor reported as diverging on rounding noise)', async () => {
    const report = await distill(smallConvNet(1), smallConvNet(1), [], images(96, 21), images(32, 22), { steps: 20, lr: 1e-2, batchSize: 32, train: 'all', threads: 1, seed: 4 });
    // Adam would scale the rounding noise of its gradients to full steps and move it away: no step is taken.
    expect(report.validationBefore.loss).toBeLessThan(1e-6);
    expect(report.diverged).toBe(false);
    expect(report.steps).toBe(0);
    expect(report.untrained).toMatch(/^the starting validation loss .* is not above the floor .*: the student already matches the teacher$/);
    expect(report.validationAfter).toEqual(report.validationBefore);
  });
});

/** Independent reference: out[c, y, x] = in[c, clamp(y + dy), clamp(f(x) + dx)], f(x) = W−1−x when flipped. */
function augmentReference(data: Float32Array, draws: SampleDraw[], c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(data.length);
  const clamp = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
  draws.forEach((d, n) => {
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const sy = clamp(y + d.dy, h), sx = clamp((d.flip ? w - 1 - x : x) + d.dx, w);
          out[((n * c + ch) * h + y) * w + x] = data[((n * c + ch) * h + sy) * w + sx];
        }
  });
  return out;
}

describe('augmentation on onnxruntime (flip and shift by ≤ 2 px, edge padding)', () => {
  const [c, h, w] = [3, 7, 9];
  const data = randomFloats(5 * c * h * w, 11);

  it('flips and shifts each sample as drawn, bit for bit equal to a loop reference', async () => {
    const aug = await Augmenter.create([c, h, w], { seed: 3, threads: 1 });
    try {
      const draws: SampleDraw[] = [
        { flip: false, dy: 0, dx: 0 },
        { flip: true, dy: 0, dx: 0 },
        { flip: false, dy: 2, dx: -1 },
        { flip: true, dy: -2, dx: 2 },
        { flip: true, dy: 1, dx: 0 },
      ];
      const out = await aug.applyDraws(data, draws);
      expect(Array.from(out)).toEqual(Array.from(augmentReference(data, draws, c, h, w)));
      expect(Array.from(out.subarray(0, c * h * w))).toEqual(Array.from(data.subarray(0, c * h * w))); // identity
      // sample 1 flipped: row 0 of channel 0 read backwards
      const row = (t: Float32Array, n: number) => Array.from(t.subarray(n * c * h * w, n * c * h * w + w));
      expect(row(out, 1)).toEqual(row(data, 1).reverse());
    } finally {
      await aug.release();
    }
  });

  it('draws flips with probability 1/2 and shifts uniformly in [−2, 2], reproducibly for a seed', async () => {
    const a = await Augmenter.create([c, h, w], { seed: 5, threads: 1 });
    const b = await Augmenter.create([c, h, w], { seed: 5, threads: 1 });
    const other = await Augmenter.create([c, h, w], { seed: 6, threads: 1 });
    try {
      const [outA, outB, outC] = [await a.apply(data, 5), await b.apply(data, 5), await other.apply(data, 5)];
      expect(Array.from(outA)).toEqual(Array.from(outB));
      expect(Array.from(outA)).not.toEqual(Array.from(outC));
      const draws = a.draw(4000);
      expect(b.draw(4000)).toEqual(draws); // the same stream
      const flips = draws.filter((d) => d.flip).length / draws.length;
      expect(Math.abs(flips - 0.5)).toBeLessThan(0.03);
      for (const axis of ['dy', 'dx'] as const) {
        const counts = [-2, -1, 0, 1, 2].map((v) => draws.filter((d) => d[axis] === v).length / draws.length);
        for (const share of counts) expect(Math.abs(share - 0.2)).toBeLessThan(0.03);
        expect(draws.every((d) => Math.abs(d[axis]) <= 2)).toBe(true);
      }
    } finally {
      await Promise.all([a.release(), b.release(), other.release()]);
    }
  });

  it('mixes each moved sample with its drawn partner: λ·a_n + (1 − λ)·a_partner', async () => {
    const aug = await Augmenter.create([c, h, w], { seed: 8, threads: 1, mix: true });
    try {
      const draws: SampleDraw[] = [
        { flip: false, dy: 0, dx: 0, partner: 0, weight: 1 },
        { flip: true, dy: 1, dx: -2, partner: 3, weight: 0.25 },
        { flip: false, dy: -1, dx: 0, partner: 1, weight: 0 },
        { flip: true, dy: 2, dx: 2, partner: 0, weight: 0.5 },
        { flip: false, dy: 0, dx: 1, partner: 4, weight: 0.75 },
      ];
      const out = await aug.applyDraws(data, draws);
      const moved = augmentReference(data, draws, c, h, w);
      const size = c * h * w;
      const expected = Float32Array.from(moved, (v, i) => {
        const d = draws[Math.floor(i / size)];
        return d.weight! * v + (1 - d.weight!) * moved[d.partner! * size + (i % size)];
      });
      expect(relMaxError(out, expected)).toBeLessThan(1e-6);
      const drawn = aug.draw(2000);
      expect(drawn.every((d) => Number.isInteger(d.partner) && d.partner! >= 0 && d.partner! < 2000 && d.weight! >= 0 && d.weight! < 1)).toBe(true);
      expect(Math.abs(drawn.reduce((a, d) => a + d.weight!, 0) / 2000 - 0.5)).toBeLessThan(0.03);
    } finally {
      await aug.release();
    }
  });

  it('with flips and shifts off it is the identity; non-image samples are refused', async () => {
    const aug = await Augmenter.create([c, h, w], { flip: false, shift: 0, threads: 1 });
    try {
      expect(Array.from(await aug.apply(data, 5))).toEqual(Array.from(data));
    } finally {
      await aug.release();
    }
    await expect(Augmenter.create([10])).rejects.toThrow(/augmentation needs image samples \[C, H, W\], found a sample of shape \[10\]/);
  });
});

describe('training batches', () => {
  it('visit every sample once per epoch, in a seeded order that changes between epochs', async () => {
    const n = 10, size = 2;
    const calib = memoryCalibration('x', [size], Float32Array.from({ length: n * size }, (_, i) => Math.floor(i / size)));
    const a = await BatchCycler.create(calib, 4, 1);
    const b = await BatchCycler.create(calib, 4, 1);
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const seen: number[] = [];
      for (let k = 0; k < 2; k++) {
        const batch = await a.next();
        expect(Array.from(batch.data.filter((_, i) => i % size === 0))).toEqual(batch.indices); // sample i holds value i
        expect(batch.indices).toEqual((await b.next()).indices);
        seen.push(...batch.indices);
      }
      expect(new Set(seen).size).toBe(8); // two batches of 4, no repeats within an epoch (2 left for no one)
      epochs.push(seen);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(a.epochs).toBe(2);
    const whole = await BatchCycler.create(calib, 64, 1);
    expect((await whole.next()).count).toBe(n);
  });
});

describe('what is trained', () => {
  const teacher = smallConvNet(1);
  const rewritten = applyRules(teacher, [ftm], { layers: ['c2'] });

  it('by default the new tensors of the rewritten layers, with --train all every float initializer', () => {
    const fired = rewritten.records.find((r) => r.status === 'fired')!;
    const expected = [...fired.params!.values()].map((t) => t.name);
    expect(expected.length).toBeGreaterThanOrEqual(4); // pw weight and bias, dw weight, affine scale and shift
    expect(trainableNames(rewritten.model, rewritten.records, 'rewritten')).toEqual(expected);
    expect(newParameterNames(teacher, rewritten.model).sort()).toEqual([...expected].sort());
    const all = trainableNames(rewritten.model, rewritten.records, 'all');
    expect(all).toEqual(expect.arrayContaining([...expected, 'c1.weight', 'c1.bias', 'fc.weight', 'fc.bias']));
    expect(all.every((n) => rewritten.model.graph.lookup(n)!.initializer!.dataType === DataType.FLOAT)).toBe(true);
    expect(trainableNames(rewritten.model, [], ['fc.bias', 'fc.bias'])).toEqual(['fc.bias']);
    expect(() => trainableNames(rewritten.model, [], ['nope'])).toThrow(/cannot train "nope": the student has no float32 initializer of that name/);
  });

  it('pairs each rewritten layer\'s output with the teacher value it was fitted to (feature terms)', () => {
    const pairs = featurePairs(teacher, rewritten.model, rewritten.records);
    expect(pairs).toHaveLength(1);
    const target = rewritten.records.find((r) => r.status === 'fired')!.fit![0].target;
    expect(pairs[0].teacher).toBe(target);
    const v = rewritten.model.graph.lookup(pairs[0].student)!;
    expect(v.uses.map((u) => u.node.opType)).toEqual(['Relu']); // what the matched conv's output fed
    expect(v.producer!.name).toMatch(/^c2\/ftm\//);
  });
});

describe('held-out evaluation', () => {
  it('feeds the parameters as inputs of an inference copy: same outputs as the student holding those values', async () => {
    const student = smallConvNet(2);
    const copy = inferenceWithParamInputs(student, 'logits', ['c2.weight', 'fc.bias']);
    expect(copy.graph.inputs.map((v) => v.name)).toEqual(['x', 'c2.weight', 'fc.bias']);
    expect(copy.graph.lookup('c2.weight')!.initializer).toBeUndefined();
    const x = { data: randomFloats(4 * 128, 3), dims: [4, 2, 8, 8] };
    const w = randomFloats(576, 9), b = Float32Array.of(1, 2, 3);
    const fed = await runOnce(copy, { x, 'c2.weight': { data: w, dims: [8, 8, 3, 3] }, 'fc.bias': { data: b, dims: [3] } });
    student.graph.lookup('c2.weight')!.initializer!.data = w.slice();
    student.graph.lookup('fc.bias')!.initializer!.data = b.slice();
    // not bit for bit: onnxruntime may pick another convolution algorithm for a constant weight than for a fed one
    expect(relMaxError(fed.logits, (await runOnce(student, { x })).logits)).toBeLessThan(1e-5);
  });

  it('scores top-1 agreement, the distillation loss and the relative error against a loop reference', async () => {
    const teacher = smallConvNet(1), student = smallConvNet(2);
    const heldOut = images(20, 5);
    const runner = await Runner.create(teacher, { threads: 1 });
    const dims = new Map([['fc.bias', [3]]] as [string, number[]][]);
    const evaluator = await HeldOutEvaluator.create(runner, 'logits', student, 'logits', dims, heldOut, { batchSize: 8, threads: 1, loss: { kind: 'kl', temperature: 4 } });
    try {
      const bias = Float32Array.of(0.5, -0.5, 0);
      const score = await evaluator.score(new Map([['fc.bias', bias]]));
      student.graph.lookup('fc.bias')!.initializer!.data = bias.slice();
      const x = { data: randomFloats(20 * 128, 5), dims: [20, 2, 8, 8] };
      const t = (await runOnce(teacher, { x })).logits, s = (await runOnce(student, { x })).logits;
      let agree = 0, kl = 0, err = 0;
      let energy = 0;
      for (let n = 0; n < 20; n++) {
        const row = (a: Float32Array) => Array.from(a.subarray(3 * n, 3 * n + 3));
        const am = (r: number[]) => r.indexOf(Math.max(...r));
        if (am(row(t)) === am(row(s))) agree++;
        const p = row(t).map((v) => Math.exp(v / 4)), q = row(s).map((v) => Math.exp(v / 4));
        const [zp, zq] = [p.reduce((a, v) => a + v), q.reduce((a, v) => a + v)];
        kl += 16 * p.reduce((a, v, k) => a + (v / zp) * Math.log(v / zp / (q[k] / zq)), 0);
        row(t).forEach((v, k) => {
          err += (v - row(s)[k]) ** 2;
          energy += v * v;
        });
      }
      expect(score.top1Agreement).toBe(agree / 20);
      expect(score.loss).toBeCloseTo(kl / 20, 5);
      expect(score.relativeError).toBeCloseTo(Math.sqrt(err / energy), 5);
      expect(softKl([1, 2, 3], [1, 2, 3], 0, 3, 4)).toBeCloseTo(0, 12);
    } finally {
      await Promise.all([evaluator.release(), runner.release()]);
    }
  });
});

describe('distill: end to end on onnxruntime', () => {
  const train = images(96, 21), heldOut = images(32, 22);

  it('trains a student with other weights towards its teacher: the held-out loss falls tenfold, the model stays plain', async () => {
    const teacher = smallConvNet(1), student = smallConvNet(2);
    const nodesBefore = student.graph.nodes.map((n) => `${n.opType}:${n.name ?? ''}`);
    const report = await distill(teacher, student, [], train, heldOut, { steps: 250, lr: 1e-2, batchSize: 32, train: 'all', loss: 'mse', threads: 1, evalEvery: 50 });
    expect(report.steps).toBe(250);
    expect(report.frozen).toEqual([]);
    expect(report.trainable.sort()).toEqual(['c1.bias', 'c1.weight', 'c2.bias', 'c2.weight', 'fc.bias', 'fc.weight']);
    expect(report.validationAfter.loss).toBeLessThan(0.1 * report.validationBefore.loss);
    expect(report.lossCurve.at(-1)!.loss).toBeLessThan(0.1 * report.initialLoss);
    // The kept parameters are the student's: its own forward pass scores what the report says.
    const x = { data: randomFloats(32 * 128, 22), dims: [32, 2, 8, 8] };
    const [t, s] = [(await runOnce(teacher, { x })).logits, (await runOnce(student, { x })).logits];
    const mse = t.reduce((a, v, i) => a + (v - s[i]) ** 2, 0) / t.length;
    expect(mse).toBeCloseTo(report.validationAfter.loss, 5);
    // Still an inference model: the same nodes, inputs and outputs, no gradient or teacher left behind.
    expect(student.graph.nodes.map((n) => `${n.opType}:${n.name ?? ''}`)).toEqual(nodesBefore);
    expect(student.graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect(student.graph.outputs.map((v) => v.name)).toEqual(['logits']);
    expect(student.graph.lookup('c2.weight')!.initializer).toBeDefined();
  });

  it('is reproducible for a seed, and keeps the starting parameters when training never beats them', async () => {
    const run = async (lr: number, keep?: 'best') => {
      const student = smallConvNet(2);
      const report = await distill(smallConvNet(1), student, [], train, heldOut, { steps: 30, lr, batchSize: 32, train: ['fc.bias', 'c2.weight'], threads: 1, seed: 4, keep });
      return { report, w: Array.from(student.graph.lookup('c2.weight')!.initializer!.toFloat32()) };
    };
    const [a, b] = [await run(1e-2), await run(1e-2)];
    expect(a.w).toEqual(b.w);
    expect(a.report.lossCurve).toEqual(b.report.lossCurve);
    expect(a.report.loss).toEqual({ kind: 'kl', temperature: 4, reads: 'logits' }); // [N, 3] logits: KL by default
    expect(a.report.keep).toBe('last');
    expect(a.report.keptStep).toBe(30);
    // A rate so large that the loss runs away at a sixteenth of it too: training stops, and the starting weights are
    // kept, with either choice.
    const start = Array.from(smallConvNet(2).graph.lookup('c2.weight')!.initializer!.toFloat32());
    for (const keep of ['best', undefined] as const) {
      const wild = await run(1e6, keep);
      expect(wild.report.diverged).toBe(true);
      expect(wild.report.keptStep).toBe(0);
      expect(wild.report.validationAfter).toEqual(wild.report.validationBefore);
      expect(wild.w).toEqual(start);
    }
  });

  it('on a classifier ending with Softmax (or LogSoftmax), teacher and student are compared on the logits before it', async () => {
    for (const op of ['Softmax', 'LogSoftmax'] as const) {
      const teacher = withFinal(smallConvNet(1), op), student = withFinal(smallConvNet(2), op);
      const report = await distill(teacher, student, [], train, heldOut, { steps: 30, lr: 1e-2, batchSize: 32, train: 'all', threads: 1, seed: 4 });
      expect(report.loss).toEqual({ kind: 'kl', temperature: 4, reads: 'logits', note: `the logits "logits" before the ${op} making output "probs"` });
      // The validation loss is the tempered KL of the logits, not of the probabilities.
      const x = { data: heldOutData, dims: [32, 2, 8, 8] };
      const [t, s] = [(await runOnce(smallConvNet(1), { x })).logits, (await runOnce(smallConvNet(2), { x })).logits];
      const kl = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from({ length: 32 }, (_, n) => softKl(a, b, n * 3, 3, 4)).reduce((x, y) => x + y, 0) / 32;
      expect(report.validationBefore.loss).toBeCloseTo(kl(t, s), 4);
      // (A softmax of log-probabilities is that of the logits: only the Softmax changes the value.)
      if (op === 'Softmax') expect(Math.abs(report.validationBefore.loss - kl(withFinalOutputs(t, op), withFinalOutputs(s, op)))).toBeGreaterThan(1e-3);
      // An explicit output is read as asked.
      expect((await distill(teacher, withFinal(smallConvNet(2), op), [], train, heldOut, { steps: 2, batchSize: 32, train: 'all', threads: 1, output: 'probs' })).loss.reads).toBe('probs');
    }
  });

  it('stops a run whose loss runs away, reports why, and rolls back to the best parameters evaluated', async () => {
    const student = smallConvNet(2);
    const start = Array.from(student.graph.lookup('c2.weight')!.initializer!.toFloat32());
    const report = await distill(smallConvNet(1), student, [], train, heldOut, { steps: 100, lr: 1e6, batchSize: 32, train: 'all', threads: 1, seed: 4, evalEvery: 50 });
    expect(report.diverged).toBe(true);
    expect(report.divergence!.reason).toMatch(/^the loss (became (NaN|Infinity)|stayed above 4× the starting loss [\d.e+]+ for 5 steps \(last)/);
    expect(report.steps).toBe(report.divergence!.step);
    expect(report.steps).toBeLessThan(50);
    expect(report.keptStep).toBe(0);
    expect(report.validationAfter).toEqual(report.validationBefore);
    expect(Array.from(student.graph.lookup('c2.weight')!.initializer!.toFloat32())).toEqual(start);
  });

  it('restarts a run whose loss runs away from the best parameters at a quarter of the rate, until it trains', async () => {
    const student = smallConvNet(2);
    const report = await distill(smallConvNet(1), student, [], train, heldOut, { steps: 100, lr: 1e3, batchSize: 32, train: 'all', threads: 1, seed: 4, evalEvery: 25 });
    // 1e3 and 250 run away; 62.5 trains.
    expect(report.restarts.map((r) => [r.peakLr, r.fromStep])).toEqual([[250, 0], [62.5, 0]]);
    for (const r of report.restarts) expect(r.reason).toMatch(/^the loss stayed above 4× the starting loss [\d.]+ for 5 steps/);
    expect(report.restarts[1].step).toBeGreaterThan(report.restarts[0].step);
    expect(report.peakLr).toBe(62.5);
    expect(report.diverged).toBe(false);
    expect(report.steps).toBe(100);
    expect(report.validationAfter.loss).toBeLessThan(report.validationBefore.loss / 10);
  });

  it('however short the budget, the rate climbs no faster than over 25 steps (Adam\'s first updates are full-sized)', async () => {
    const rates: number[] = [];
    await distill(smallConvNet(1), smallConvNet(2), [], train, heldOut, { steps: 10, lr: 1e-2, batchSize: 32, train: 'all', threads: 1, seed: 4, onProgress: (p) => rates.push(p.lr) });
    const schedule = Array.from({ length: 10 }, (_, k) => cosineLr(stepProgress(k, 10), { base: 1e-2, warmup: warmupShare(10) }));
    expect(rates).toHaveLength(11); // 10 steps and the final evaluation's
    schedule.forEach((r, k) => expect(rates[k]).toBeCloseTo(Math.min(r, (1e-2 * (k + 1)) / 25), 12));
    // The cap binds where the 10-step schedule's own 3-step warm-up would already be at its peak.
    expect(rates[3]).toBeLessThan(schedule[3] / 4);
  });

  it('fine-tunes a data-free FTM rewrite: the new weights train, the rest of the model does not move', async () => {
    const teacher = smallConvNet(1);
    const { model: student, records } = applyRules(teacher, [ftm], { layers: ['c2'] });
    const c1 = Array.from(student.graph.lookup('c1.weight')!.initializer!.toFloat32());
    const report = await distill(teacher, student, records, train, heldOut, { steps: 150, lr: 1e-2, batchSize: 32, threads: 1, evalEvery: 50 });
    expect(report.trainable).toEqual(trainableNames(student, records, 'rewritten'));
    expect(report.validationAfter.loss).toBeLessThan(0.5 * report.validationBefore.loss);
    expect(Array.from(student.graph.lookup('c1.weight')!.initializer!.toFloat32())).toEqual(c1);
  });

  it('with a feature weight, also matches each rewritten layer\'s output to the teacher value it replaced', async () => {
    const teacher = smallConvNet(1);
    const { model: student, records } = applyRules(teacher, [ftm], { layers: ['c2'] });
    const report = await distill(teacher, student, records, train, heldOut, { steps: 100, lr: 1e-2, batchSize: 32, threads: 1, featureWeight: 1, evalEvery: 50 });
    expect(report.features).toEqual(featurePairs(teacher, student, records));
    expect(report.features).toHaveLength(1);
    expect(report.validationAfter.loss).toBeLessThan(0.5 * report.validationBefore.loss);
  });

  it('rejects bad options before any work, naming the option', async () => {
    const go = (o: Parameters<typeof distill>[5]) => distill(smallConvNet(1), smallConvNet(2), [], train, heldOut, { threads: 1, ...o });
    await expect(go({ steps: 0 })).rejects.toThrow(/distillation steps must be a positive integer, found 0/);
    await expect(go({ seconds: -1 })).rejects.toThrow(/distillation time must be positive seconds, found -1/);
    await expect(go({ lr: 0 })).rejects.toThrow(/learning rate must be positive, found 0/);
    await expect(go({ train: [] })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/no rewritten layer has parameters to train/) });
    await expect(go({ train: 'all', output: 'nope' })).rejects.toThrow(/expected the teacher and the student to have an output "nope"/);
  });
});
