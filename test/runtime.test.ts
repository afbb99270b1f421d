import { expectCodeAsync } from './helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { encodeModel, Tensor } from '../src/index.js';
import { Runner } from '../src/runtime/session.js';
import { tapModel } from '../src/runtime/tap.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { conv2d, nchw } from './helpers/reference.js';

/** x [N,2,5,5] → Conv 2→3 (pad 1) → Relu → Conv 3→2 (pad 1) → y. */
function twoConvs() {
  const { model, g, x } = modelWithInput(['N', 2, 5, 5]);
  const w1 = randomWeight(g, 'w1', [3, 2, 3, 3], 1);
  const b1 = randomWeight(g, 'b1', [3], 2);
  const conv1 = g.addNode({ op: 'Conv', inputs: [x, w1, b1], name: 'conv1', attrs: { pads: [1, 1, 1, 1] } });
  const relu = g.addNode({ op: 'Relu', inputs: [conv1.outputs[0]], name: 'relu' });
  const conv2 = g.addNode({ op: 'Conv', inputs: [relu.outputs[0], randomWeight(g, 'w2', [2, 3, 3, 3], 3)], name: 'conv2', attrs: { pads: [1, 1, 1, 1] } });
  g.outputs.push(conv2.outputs[0]!);
  return { model, w1, b1, conv1: conv1.outputs[0]!.name, y: conv2.outputs[0]!.name };
}


const input = { data: randomFloats(3 * 2 * 5 * 5, 7), dims: [3, 2, 5, 5] };

describe('tapped models', () => {
  it('return the original outputs unchanged plus the tapped values, and leave the caller model untouched', async () => {
    const { model, w1, b1, conv1, y } = twoConvs();
    const before = encodeModel(model);
    const tapped = tapModel(model, [conv1]);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
    expect(model.graph.outputs.map((v) => v.name)).toEqual([y]);
    expect(tapped.graph.outputs.map((v) => v.name)).toEqual([y, conv1]);

    const plain = await Runner.create(model, { threads: 1 });
    const tap = await Runner.create(tapped, { threads: 1 });
    const a = await plain.run({ x: input });
    const b = await tap.run({ x: input });
    expect(Array.from(b[y].data as Float32Array)).toEqual(Array.from(a[y].data as Float32Array));
    expect(b[conv1].dims).toEqual([3, 3, 5, 5]);

    // The tapped Conv output against a direct float64 convolution (float32 rounding only).
    const ref = conv2d(nchw(input.data, 3, 2, 5, 5), w1.initializer!.data as Float32Array, b1.initializer!.data as Float32Array, 3, [3, 3], { pads: [1, 1, 1, 1] });
    const got = b[conv1].data as Float32Array;
    const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - ref.data[i])));
    expect(err).toBeLessThan(1e-5);
    await Promise.all([plain.release(), tap.release()]);
  });

  it('refuses to tap a value the graph does not have', () => {
    const { model } = twoConvs();
    expect(() => tapModel(model, ['nope'])).toThrowError(expect.objectContaining({ code: 'E_USAGE' }));
  });
});

describe('runner', () => {
  it('fetches only the outputs asked for', async () => {
    const { model, conv1, y } = twoConvs();
    const runner = await Runner.create(tapModel(model, [conv1]));
    expect(Object.keys(await runner.run({ x: input }, [conv1]))).toEqual([conv1]);
    expect(runner.outputNames).toEqual([y, conv1]);
    await runner.release();
  });

  it('reports what onnxruntime cannot load as E_RUNTIME, naming the model', async () => {
    const { model, g, x } = modelWithInput(['N', 2]);
    model.graph.name = 'custom';
    g.outputs.push(g.addNode({ op: 'NoSuchOp', domain: 'com.example', inputs: [x], name: 'weird' }).outputs[0]!);
    model.opsetImport.push({ domain: 'com.example', version: 1 });
    const e = await expectCodeAsync(() => Runner.create(model), 'E_RUNTIME');
    expect(e.message).toContain('model "custom"');
    expect(e.message).toContain('NoSuchOp');
  });

  it('reports a failed run as E_RUNTIME', async () => {
    const { model } = twoConvs();
    const runner = await Runner.create(model);
    await expectCodeAsync(() => runner.run({ x: { data: new Float32Array(4), dims: [1, 1, 2, 2] } }), 'E_RUNTIME');
    await runner.release();
  });

  it('refuses a thread count that is not a positive integer', async () => {
    const { model } = twoConvs();
    await expectCodeAsync(() => Runner.create(model, { threads: 0 }), 'E_USAGE');
    await expectCodeAsync(() => Runner.create(model, { threads: 1.5 }), 'E_USAGE');
  });

  it('runs a model built in memory', async () => {
    const { model, g, x } = modelWithInput(['N', 2]);
    const k = g.addInitializer('k', Tensor.float32([2], [2, 3]));
    g.outputs.push(g.addNode({ op: 'Mul', inputs: [x, k], name: 'mul' }).outputs[0]!);
    const runner = await Runner.create(model, { threads: 1 });
    const out = await runner.run({ x: { data: Float32Array.from([1, 1, 2, 2]), dims: [2, 2] } });
    expect(Array.from(Object.values(out)[0].data as Float32Array)).toEqual([2, 3, 4, 6]);
    await runner.release();
  });
});
