import { describe, expect, it } from 'vitest';
import { applyRules, countParams, encodeModel, inferShapes, loadModel, RuleTester, type Model } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { runOnce } from '../test/helpers/ort.js';
import { relMaxError } from '../test/helpers/reference.js';
import { ftm } from './ftm.js';
import { ftmPointwise } from './ftm-pointwise.js';

RuleTester.describe = describe;
RuleTester.it = it;

/** x → Relu → Conv (k×k, stride) → y, then the conv rewritten by FTM in the gathered form, not finalized. */
function gatheredFtm({ kernel = 1, stride = 2, s = 2 } = {}): Model {
  const { model, g, x } = modelWithInput(['N', 6, 7, 7]);
  const pre = g.addNode({ op: 'Relu', inputs: [x], name: 'pre' }).outputs[0]!;
  const pad = (kernel - 1) / 2;
  const y = g.addNode({ op: 'Conv', inputs: [pre, randomWeight(g, 'w', [10, 6, kernel, kernel], 1), randomWeight(g, 'b', [10], 2)], name: 'conv', attrs: { strides: [stride, stride], pads: [pad, pad, pad, pad] } }).outputs[0]!;
  y.type = { kind: 'tensor', elemType: 1 };
  g.outputs.push(y);
  return applyRules(model, [ftm], { options: { ftm: { s } } }).model;
}

new RuleTester().run(ftmPointwise, {
  fires: [
    {
      name: 'a 1×1 FTM with a stride becomes one strided Conv fed by constant nodes, computing the same',
      model: gatheredFtm(),
      at: ['conv/ftm/affine'],
      equivalent: { tolerance: 1e-6 },
      check: (r) => {
        expect(r.model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.getInts('strides'))).toEqual([[2, 2]]);
        expect(countParams(r.model.graph)).toBe(r.paramsBefore);
      },
    },
    { name: 'with short groups (10 channels at S = 3)', model: gatheredFtm({ stride: 1, s: 3 }), at: ['conv/ftm/affine'], equivalent: { tolerance: 1e-6 } },
  ],
  declines: [{ name: 'a 3×3 FTM', model: gatheredFtm({ kernel: 3 }), at: 'conv/ftm/affine', reason: 'not a 1×1 FTM' }],
});

describe('ftm-pointwise on the fixture', () => {
  it('takes the two 1×1 shortcut FTMs and no 3×3 one; same outputs, same parameters', async () => {
    const fixture = loadModel('fixtures/resnet20/model.onnx');
    const before = applyRules(fixture, [ftm]).model;
    const after = applyRules(before, [ftmPointwise]);
    expect(after.records.filter((r) => r.status === 'fired').map((r) => r.node)).toEqual(['/layer2/layer2.0/shortcut/conv/Conv/ftm/affine', '/layer3/layer3.0/shortcut/conv/Conv/ftm/affine']);
    expect(after.paramsAfter).toBe(after.paramsBefore);
    const feed = { input: { data: randomFloats(3 * 784, 5), dims: [3, 1, 28, 28] } };
    expect(relMaxError((await runOnce(after.model, feed)).logits, (await runOnce(before, feed)).logits)).toBeLessThan(1e-5);
  });
});

describe('ftm-pointwise output read back', () => {
  it('loads (the Conv checks see the computed weight\'s shape) and knows the conv\'s channels', () => {
    // x → Conv 1×1 (6→10) → depthwise 3×3 (group 10): the depthwise conv's check needs the channels of the rewritten conv.
    const { model, g, x } = modelWithInput(['N', 6, 7, 7]);
    const h = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [10, 6, 1, 1], 1), randomWeight(g, 'b', [10], 2)], name: 'conv' }).outputs[0]!;
    const y = g.addNode({ op: 'Conv', inputs: [h, randomWeight(g, 'dw', [10, 1, 3, 3], 3)], name: 'dw', attrs: { group: 10, pads: [1, 1, 1, 1] } }).outputs[0]!;
    y.type = { kind: 'tensor', elemType: 1 };
    g.outputs.push(y);
    const emitted = applyRules(model, [ftm], { layers: ['conv'], options: { ftm: { includeFirst: true } }, finalize: true }).model;
    expect(emitted.graph.nodes.filter((n) => n.opType === 'Gather').every((n) => n.getInt('axis', 0) === 0)).toBe(true);
    const back = loadModel(encodeModel(emitted));
    const conv = back.graph.nodes.find((n) => n.opType === 'Conv' && !n.inputs[1]!.initializer)!;
    expect(inferShapes(back.graph, 1).get(conv.outputs[0]!)).toEqual([1, 10, 7, 7]);
  });
});
