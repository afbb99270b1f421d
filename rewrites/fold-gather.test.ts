import { describe, expect, it } from 'vitest';
import { applyRules, loadModel, printGraph, Tensor } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { expectGolden } from '../test/helpers/golden.js';
import { runOnce } from '../test/helpers/ort.js';
import { relMaxError } from '../test/helpers/reference.js';
import { foldGather } from './fold-gather.js';
import { ftm } from './ftm.js';

describe('fold-gather rule', () => {
  it('folds a channel permutation through Relu into the next conv, exactly', async () => {
    const { model, g, x } = modelWithInput(['N', 3, 5, 5]);
    const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w1', [6, 3, 3, 3], 1)], name: 'a', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
    const idx = g.addInitializer('idx', Tensor.int64([5], [4, 0, 5, 2, 1])); // drops channel 3, reorders the rest
    const gathered = g.addNode({ op: 'Gather', inputs: [a, idx], name: 'order', attrs: { axis: 1 } }).outputs[0]!;
    const relu = g.addNode({ op: 'Relu', inputs: [gathered], name: 'relu' }).outputs[0]!;
    const y = g.addNode({ op: 'Conv', inputs: [relu, randomWeight(g, 'w2', [2, 5, 1, 1], 2), randomWeight(g, 'b2', [2], 3)], name: 'b' }).outputs[0]!;
    y.type = { kind: 'tensor', elemType: 1 };
    g.outputs.push(y);
    const r = applyRules(model, [foldGather]);
    expect(r.records.map((x) => x.status)).toEqual(['fired']);
    expect(r.model.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv']);
    expectGolden(new URL('./__golden__/fold-gather.txt', import.meta.url).pathname, printGraph(r.model.graph));
    const feed = { x: { data: randomFloats(2 * 75, 9), dims: [2, 3, 5, 5] } };
    expect(relMaxError((await runOnce(r.model, feed))[y.name], (await runOnce(model, feed))[y.name])).toBeLessThan(1e-6);
  });

  it('after FTM on the fixture with a shuffled pairing: fewer Gathers, same outputs, and the Add-fed ones declined', async () => {
    const fixture = loadModel('fixtures/resnet20/model.onnx');
    const stats: Record<string, { groups: number[][] }> = {};
    for (const n of fixture.graph.nodes.filter((n) => n.opType === 'Conv')) {
      const c = n.inputs[1]!.initializer!.dims[0];
      const perm = Array.from({ length: c }, (_, i) => (i * 7 + 3) % c);
      stats[n.name!] = { groups: Array.from({ length: c / 2 }, (_, j) => [perm[2 * j], perm[2 * j + 1]]) };
    }
    const before = applyRules(fixture, [ftm], { stats }).model;
    const after = applyRules(before, [foldGather]);
    const gathers = (m: typeof before) => m.graph.nodes.filter((n) => n.opType === 'Gather').length;
    expect(gathers(before)).toBe(20);
    expect(gathers(after.model)).toBe(11);
    expect(after.records.filter((r) => r.status === 'declined').every((r) => /consumer Add ".*" is not a plain Conv/.test(r.reason!))).toBe(true);
    const feed = { input: { data: randomFloats(3 * 784, 5), dims: [3, 1, 28, 28] } };
    expect(relMaxError((await runOnce(after.model, feed)).logits, (await runOnce(before, feed)).logits)).toBeLessThan(1e-5);
  });
});
