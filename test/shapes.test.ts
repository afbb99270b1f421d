import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../src/inspect/inspect.js';
import { observeShapes } from '../src/runtime/observe-shapes.js';
import { inferShapes } from '../src/analysis/shapes.js';
import { buildTrainingGraph } from '../src/grad/training-graph.js';
import { toposort } from '../src/graph/toposort.js';
import { loadModel, Tensor, type AttrInit, type Model, type Value } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { checkGradients } from './helpers/grad-check.js';
import { runOnce } from './helpers/ort.js';
import { pythonTorchMissing, runOracle } from './helpers/python.js';
import { relMaxError } from './helpers/reference.js';

/**
 * A ShuffleNetV2 unit as torch.onnx exports it, with symbolic batch, height and width: the channel shuffle reshapes to
 * a shape computed from Shape/Gather/Concat (batch included), transposes, reshapes back, and the channel split slices
 * at bounds computed from the shape. Static propagation cannot know the rank after the first Reshape.
 * x [N,4,H,W] → Conv w1 → shuffle (2 groups of 4) → left half ‖ Conv w2 (right half) → ReduceMean over H, W.
 */
function shuffleUnit(): { model: Model; trainable: string[] } {
  const { model, g, x } = modelWithInput(['N', 4, 'H', 'W']);
  let n = 0;
  const op = (opType: string, inputs: Value[], attrs?: Record<string, AttrInit>, output?: string) =>
    g.addNode({ op: opType, inputs, name: `${opType}_${n++}`, ...(attrs ? { attrs } : {}), ...(output ? { outputs: [output] } : {}) }).outputs[0]!;
  const ints = (values: number[], dims = [values.length]) => g.addInitializer(`c${n++}`, Tensor.int64(dims, values));
  const dimOf = (v: Value, axis: number) => op('Gather', [op('Shape', [v]), ints([axis], [])], { axis: 0 });
  const vector = (scalar: Value) => op('Unsqueeze', [scalar, ints([0])]);

  const a = op('Conv', [x, randomWeight(g, 'w1', [8, 4, 1, 1], 1)]);
  const [batch, height, width] = [dimOf(a, 0), dimOf(a, 2), dimOf(a, 3)];
  const perGroup = op('Div', [dimOf(a, 1), ints([2], [])]);
  const grouped = op('Reshape', [a, op('Concat', [vector(batch), ints([2]), vector(perGroup), vector(height), vector(width)], { axis: 0 }, 'target')], undefined, 'grouped');
  const swapped = op('Transpose', [grouped], { perm: [0, 2, 1, 3, 4] }, 'swapped');
  const shuffled = op('Reshape', [swapped, op('Concat', [vector(batch), ints([-1]), vector(height), vector(width)], { axis: 0 })], undefined, 'shuffled');
  const half = op('Div', [dimOf(shuffled, 1), ints([2], [])], undefined, 'half');
  const left = op('Slice', [shuffled, ints([0]), vector(half), ints([1])]);
  const right = op('Slice', [shuffled, vector(half), vector(op('Mul', [half, ints([2], [])])), ints([1])]);
  // No Relu after it: central differences across its kink would test the finite differences, not the gradient.
  const branch = op('Conv', [right, randomWeight(g, 'w2', [4, 4, 3, 3], 2)], { pads: [1, 1, 1, 1] });
  const y = op('ReduceMean', [op('Concat', [left, branch], { axis: 1 })], { axes: [2, 3], keepdims: 0 });
  y.type = { kind: 'tensor', elemType: 1, shape: [{ param: 'N' }, { value: 8 }] };
  g.outputs.push(y);
  return { model, trainable: ['w1', 'w2'] };
}

const input = (count: number) => ({ data: randomFloats(count * 4 * 6 * 6, 7), dims: [count, 4, 6, 6] });
const valueOf = (model: Model, name: string) => model.graph.lookup(name)!;

describe('shapes observed on onnxruntime where static propagation gives up', () => {
  it('inspect leaves sizes and MACs unknown under a symbolic height and width, rather than computing them at 1x1', () => {
    const first = inspectModel(shuffleUnit().model).convs[0];
    expect([first.outputSize, first.macs]).toEqual([[null, null], null]);
  });

  it('static propagation loses the rank after a Reshape to a computed shape', () => {
    const { model } = shuffleUnit();
    const shapes = inferShapes(model.graph, NaN);
    expect(shapes.get(model.graph.nodes[0].outputs[0]!)).toEqual([NaN, 8, NaN, NaN]);
    expect(shapes.get(valueOf(model, 'grouped'))).toBeUndefined();
    expect(shapes.get(valueOf(model, 'swapped'))).toBeUndefined();
  });

  it('a run fills in the dims, keeps the batch symbolic, and records only the shape arithmetic the batch does not change', async () => {
    const { model } = shuffleUnit();
    const known = await observeShapes(model, 'x', input(3), { threads: 1 });
    expect(known.dims.get('x')).toEqual([null, 4, 6, 6]);
    expect(known.dims.get('grouped')).toEqual([null, 2, 4, 6, 6]);
    expect(known.dims.get('shuffled')).toEqual([null, 8, 6, 6]);
    // The bound of the channel split is a constant at this size; the reshape target holds the batch, so it is not.
    expect(known.values.get('half')).toEqual([4]);
    expect(known.dims.get('target')).toEqual([5]);
    expect(known.values.has('target')).toBe(false);
    // Only what propagation could not determine is tapped: the first Conv's output was known at this input size.
    expect(known.dims.has(model.graph.nodes[0].outputs[0]!.name)).toBe(false);

    // Propagation goes on from what was observed: the Transpose after the Reshape is known again.
    const shapes = inferShapes(model.graph, NaN, known);
    expect(shapes.get(valueOf(model, 'swapped'))).toEqual([NaN, 4, 2, 6, 6]);
  });

  it('observes at batch 1 and 2 even when given one sample', async () => {
    const { model } = shuffleUnit();
    const known = await observeShapes(model, 'x', input(1), { threads: 1 });
    expect(known.dims.get('grouped')).toEqual([null, 2, 4, 6, 6]);
  });

  it('without observed shapes the trainables before the shuffle are frozen, naming why', () => {
    const { model, trainable } = shuffleUnit();
    const t = buildTrainingGraph(model, { trainable, loss: { kind: 'mse' } });
    expect(t.trainable).toEqual([]);
    expect(t.frozen.map((f) => f.name)).toEqual(['w1', 'w2']);
    expect(t.frozen[1].reason).toMatch(/ReduceMean "ReduceMean_\d+" \(the rank of its input is unknown\)/);
  });

  it('with them, gradients through the shuffle and the computed split match central differences', async () => {
    const { model, trainable } = shuffleUnit();
    const shapes = await observeShapes(model, 'x', input(1), { threads: 1 });
    // A batch of 3, neither of the observed ones: the batch stayed symbolic in the training graph.
    const r = await checkGradients(model, trainable, { feeds: { x: input(3) }, shapes });
    expect(r.training.trainable).toEqual(['w1', 'w2']);
    expect(r.training.frozen).toEqual([]);
    // Conv has no double kernel on onnxruntime: float32 differences (see test/grad-rules.test.ts for the tolerance).
    expect(r.worst).toBeLessThan(2e-2);
  });
});

describe('a real ShuffleNetV2 export (torch.onnx, opset 13, symbolic batch, height and width)', () => {
  const missing = pythonTorchMissing();

  it.skipIf(!!missing)('trains through its channel shuffles: the gradient matches torch autograd', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ftm-shapes-')), 'shufflenet.onnx');
    const ref = runOracle('shufflenet_grad.py', [file, '32']) as { x: number[]; dims: number[]; teacher: number[]; grad: number[]; deltaDims: number[] };
    // The oracle's `delta`: a trainable added to the max pool's output, ahead of every block.
    const model = loadModel(file);
    const g = model.graph;
    const pooled = g.nodes.find((n) => n.opType === 'MaxPool')!.outputs[0]!;
    const shifted = g.addNode({ op: 'Add', inputs: [pooled, g.addInitializer('delta', Tensor.float32(ref.deltaDims, new Float32Array(ref.grad.length)))] }).outputs[0]!;
    for (const use of [...pooled.uses]) if (use.node !== shifted.producer) use.node.setInput(use.index, shifted);
    toposort(g);
    const options = { trainable: ['delta'], loss: { kind: 'mse' as const } };

    // What the main job met: static propagation stops at the first shuffle, and nothing can train.
    expect(buildTrainingGraph(model, options).frozen[0].reason).toMatch(/the rank of (its input|an operand) is unknown/);

    const x = { data: Float32Array.from(ref.x), dims: ref.dims };
    const shapes = await observeShapes(model, 'input', x, { threads: 2 });
    const training = buildTrainingGraph(model, { ...options, shapes });
    expect(training.trainable).toEqual(['delta']);
    const out = await runOnce(training.model, { input: x, teacher: { data: Float32Array.from(ref.teacher), dims: [ref.dims[0], 1000] }, delta: { data: new Float32Array(ref.grad.length), dims: ref.deltaDims } });
    // float32 on both sides, summed in different orders through 50 layers; a wrong rule or shape is off by O(1).
    expect(relMaxError(out['grad:delta'], ref.grad)).toBeLessThan(1e-4);
  }, 120_000);
});
