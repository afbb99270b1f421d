import { describe, expect, it } from 'vitest';
import { Emitter } from '../src/grad/emitter.js';
import { buildTrainingGraph } from '../src/grad/training-graph.js';
import { DataType, newModel, Tensor, type Model, type Value } from '../src/index.js';
import { randomFloats } from './helpers/build.js';
import { checkGradients } from './helpers/grad-check.js';
import { runOnce } from './helpers/ort.js';
import { relMaxError } from './helpers/reference.js';

/** y = Erf(a) + Relu(b) + c·d: `a` reaches the loss only through Erf, which has no gradient rule. */
function partlyDifferentiable(): Model {
  const model = newModel(13);
  const g = model.graph;
  const p = (name: string, seed: number) => g.addInitializer(name, Tensor.float32([2, 3], randomFloats(6, seed).map((v) => v + Math.sign(v) * 0.1)));
  const op = (opType: string, inputs: Value[], name: string) => g.addNode({ op: opType, inputs, name }).outputs[0]!;
  const [a, b, c, d] = [p('a', 1), p('b', 2), p('c', 3), p('d', 4)];
  const y = op('Add', [op('Add', [op('Erf', [a], 'erf'), op('Relu', [b], 'relu')], 'sum1'), op('Mul', [c, d], 'mul')], 'sum2');
  y.type = { kind: 'tensor', elemType: DataType.FLOAT };
  g.outputs.push(y);
  return model;
}

describe('the training graph', () => {
  it('freezes a trainable whose path crosses an operator without a rule, naming it, and trains the others exactly', async () => {
    const model = partlyDifferentiable();
    const r = await checkGradients(model, ['a', 'b', 'c', 'd']);
    expect(r.training.trainable).toEqual(['b', 'c', 'd']);
    expect(r.training.frozen).toEqual([{ name: 'a', reason: 'the path to the loss crosses Erf "erf", which has no gradient rule' }]);
    expect(r.worst).toBeLessThan(1e-3);
    // The frozen tensor stays a constant; the trained ones are inputs; the outputs are the loss and one gradient each.
    const g = r.training.model.graph;
    expect(g.lookup('a')!.initializer).toBeDefined();
    expect(g.inputs.map((v) => v.name)).toEqual(['teacher', 'b', 'c', 'd']);
    expect(g.outputs.map((v) => v.name)).toEqual(['loss', 'grad:b', 'grad:c', 'grad:d']);
  });

  it('freezes a trainable when any one of its paths is blocked: a partial gradient would be a wrong one', () => {
    const model = newModel(13);
    const g = model.graph;
    const w = g.addInitializer('w', Tensor.float32([4], [0.5, -1, 2, 0.3]));
    const y = g.addNode({ op: 'Add', inputs: [g.addNode({ op: 'Erf', inputs: [w], name: 'erf' }).outputs[0]!, g.addNode({ op: 'Relu', inputs: [w] }).outputs[0]!] }).outputs[0]!;
    y.type = { kind: 'tensor', elemType: DataType.FLOAT };
    g.outputs.push(y);
    const t = buildTrainingGraph(model, { trainable: ['w'], loss: { kind: 'mse' } });
    expect(t.trainable).toEqual([]);
    expect(t.frozen[0].reason).toMatch(/crosses Erf "erf"/);
  });

  it('refuses what it cannot train with typed errors naming the tensor', () => {
    const model = partlyDifferentiable();
    expect(() => buildTrainingGraph(model, { trainable: ['nope'], loss: { kind: 'mse' } })).toThrow(/expected trainable "nope" to be an initializer of the main graph, found nothing of that name/);
    expect(() => buildTrainingGraph(model, { trainable: ['b', 'b'], loss: { kind: 'mse' } })).toThrow(/trainable "b" is listed twice/);
    expect(() => buildTrainingGraph(model, { trainable: ['b'], loss: { kind: 'kl', temperature: 0 } })).toThrow(/KL temperature to be a positive number, found 0/);
  });
});

describe('the distillation loss', () => {
  it('adds weight·MSE of a feature against its teacher input; loss and gradient match a hand computation', async () => {
    const model = newModel(13);
    const g = model.graph;
    const a = g.addInitializer('a', Tensor.float32([2, 3], [0.5, -1, 2, 0.3, -0.7, 1.1]));
    const c = g.addInitializer('c', Tensor.float32([2, 3], [1, 2, -1, 0.5, 3, -2]));
    const d = g.addInitializer('d', Tensor.float32([2, 3], [0.1, 0.2, 0.3, -0.1, -0.2, -0.3]));
    const h = g.addNode({ op: 'Mul', inputs: [a, c], outputs: ['h'] }).outputs[0]!;
    const y = g.addNode({ op: 'Add', inputs: [h, d], outputs: ['y'] }).outputs[0]!;
    y.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ value: 2 }, { value: 3 }] };
    g.outputs.push(y);
    const w = 0.5;
    const training = buildTrainingGraph(model, { trainable: ['a'], loss: { kind: 'mse' }, features: [{ value: 'h', weight: w }] });
    expect(training.model.graph.inputs.map((v) => v.name)).toEqual(['teacher', 'teacher:h', 'a']);
    const [t, th] = [randomFloats(6, 5), randomFloats(6, 6)];
    const av = a.initializer!.toFloat32(), cv = c.initializer!.toFloat32(), dv = d.initializer!.toFloat32();
    const out = await runOnce(training.model, { teacher: { data: t, dims: [2, 3] }, 'teacher:h': { data: th, dims: [2, 3] }, a: { data: av, dims: [2, 3] } });
    let loss = 0;
    const grad = new Float64Array(6);
    for (let i = 0; i < 6; i++) {
      const hi = av[i] * cv[i];
      loss += ((hi + dv[i] - t[i]) ** 2 + w * (hi - th[i]) ** 2) / 6;
      grad[i] = (cv[i] * (2 * (hi + dv[i] - t[i]) + 2 * w * (hi - th[i]))) / 6;
    }
    expect(out.loss[0]).toBeCloseTo(loss, 5);
    expect(relMaxError(out['grad:a'], Float32Array.from(grad))).toBeLessThan(1e-5);
  });
});

describe('the emitter', () => {
  // Sums of x[2, 3, 4, 5] over `axes`, by index arithmetic: the reference for every form the emitter may emit.
  function referenceSum(x: Float32Array, dims: number[], axes: number[], keepdims: boolean): { data: number[]; dims: number[] } {
    const reduced = new Set(axes.map((a) => (a < 0 ? a + dims.length : a)));
    const outDims = dims.map((d, i) => (reduced.has(i) ? 1 : d));
    const out = new Array<number>(outDims.reduce((a, b) => a * b, 1)).fill(0);
    for (let flat = 0; flat < x.length; flat++) {
      let rest = flat, at = 0, stride = 1;
      for (let i = dims.length - 1; i >= 0; i--) {
        const idx = rest % dims[i];
        rest = Math.floor(rest / dims[i]);
        if (!reduced.has(i)) at += idx * stride;
        stride *= outDims[i];
      }
      out[at] += x[flat];
    }
    return { data: out, dims: keepdims ? outDims : outDims.filter((_, i) => !reduced.has(i)) };
  }

  it.each([
    { axes: [0, 2, 3], keepdims: false },
    { axes: [0, 2, 3], keepdims: true },
    { axes: [3, 0, 1], keepdims: false },
    { axes: [-3, -1], keepdims: false },
    { axes: [1, 2], keepdims: false },
  ])('sums over axes $axes (keepdims $keepdims) as ReduceSum does, however it splits them', async ({ axes, keepdims }) => {
    const dims = [2, 3, 4, 5];
    for (const opset of [11, 13]) {
      const model = newModel(opset);
      const g = model.graph;
      const x = g.define('x');
      x.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: dims.map((value) => ({ value })) };
      g.inputs.push(x);
      const y = new Emitter(g, opset, 'sum').reduceSum(x, axes, keepdims);
      y.type = { kind: 'tensor', elemType: DataType.FLOAT };
      g.outputs.push(y);
      const data = randomFloats(120, 9);
      const out = await runOnce(model, { x: { data, dims } });
      const ref = referenceSum(data, dims, axes, keepdims);
      expect(out[y.name].length).toBe(ref.data.length);
      expect(relMaxError(out[y.name], Float64Array.from(ref.data))).toBeLessThan(1e-5);
    }
  });
});
