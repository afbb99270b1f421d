import { describe, expect, it } from 'vitest';
import { applyRules, loadModel, RuleTester, Tensor } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { runOnce } from '../test/helpers/ort.js';
import { relMaxError } from '../test/helpers/reference.js';
import { foldGather } from './fold-gather.js';
import { ftm } from './ftm.js';

RuleTester.describe = describe;
RuleTester.it = it;

/** x → Conv a → Gather(order, axis) → <op> → Conv b → y: `order` drops channel 3 of a and reorders the rest. */
function permuted({ axis = 1, op = 'Relu', consumer = 'Conv', output = false } = {}) {
  const { model, g, x } = modelWithInput(['N', 3, 5, 5]);
  const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w1', [6, 3, 3, 3], 1)], name: 'a', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
  const idx = g.addInitializer('idx', Tensor.int64([5], [4, 0, 5, 2, 1]));
  const gathered = g.addNode({ op: 'Gather', inputs: [a, idx], name: 'order', attrs: { axis } }).outputs[0]!;
  const h = g.addNode({ op, inputs: [gathered], name: op.toLowerCase() }).outputs[0]!;
  const y = consumer === 'Conv'
    ? g.addNode({ op: 'Conv', inputs: [h, randomWeight(g, 'w2', [2, 5, 1, 1], 2), randomWeight(g, 'b2', [2], 3)], name: 'b' }).outputs[0]!
    : g.addNode({ op: consumer, inputs: [h], name: 'b' }).outputs[0]!;
  y.type = { kind: 'tensor', elemType: 1 };
  g.outputs.push(...(output ? [h, y] : [y]));
  return model;
}

new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) }).run(foldGather, {
  fires: [
    {
      name: 'folds a channel permutation through Relu into the next conv, exactly',
      model: permuted(),
      at: ['order'],
      golden: 'fold-gather.txt',
      equivalent: { tolerance: 1e-6 },
      check: (r) => expect(r.model.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv']),
    },
  ],
  declines: [
    { name: 'a gather on another axis', model: permuted({ axis: 2, consumer: 'GlobalAveragePool' }), reason: 'not a channel gather (axis ≠ 1)' },
    { name: 'a gather whose result is a graph output', model: permuted({ output: true }), reason: '"relu_out0" is a graph output' },
    { name: 'a consumer that is not a Conv', model: permuted({ consumer: 'GlobalAveragePool' }), reason: 'consumer GlobalAveragePool "b" is not a plain Conv with a constant weight' },
    { name: 'through an op that mixes channels (Softmax)', model: permuted({ op: 'Softmax' }), reason: 'consumer Softmax "softmax" is not a plain Conv with a constant weight' },
  ],
});

describe('fold-gather rule', () => {
  it('after FTM (folded form) on the fixture with a shuffled pairing: fewer Gathers, same outputs, and the Add-fed ones declined', async () => {
    const fixture = loadModel('fixtures/resnet20/model.onnx');
    const stats: Record<string, { groups: number[][] }> = {};
    for (const n of fixture.graph.nodes.filter((n) => n.opType === 'Conv')) {
      const c = n.inputs[1]!.initializer!.dims[0];
      const perm = Array.from({ length: c }, (_, i) => (i * 7 + 3) % c);
      stats[n.name!] = { groups: Array.from({ length: c / 2 }, (_, j) => [perm[2 * j], perm[2 * j + 1]]) };
    }
    const before = applyRules(fixture, [ftm], { stats, options: { ftm: { form: 'folded' } } }).model;
    const after = applyRules(before, [foldGather]);
    const gathers = (m: typeof before) => m.graph.nodes.filter((n) => n.opType === 'Gather').length;
    expect(gathers(before)).toBe(20);
    expect(gathers(after.model)).toBe(11);
    expect(after.records.filter((r) => r.status === 'declined').every((r) => /consumer Add ".*" is not a plain Conv/.test(r.reason!))).toBe(true);
    const feed = { input: { data: randomFloats(3 * 784, 5), dims: [3, 1, 28, 28] } };
    expect(relMaxError((await runOnce(after.model, feed)).logits, (await runOnce(before, feed)).logits)).toBeLessThan(1e-5);
  });
});
