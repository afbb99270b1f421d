import { describe, it } from 'vitest';
import { newModel, RuleTester, Tensor, type Model } from 'ftm-compress';
import { foldMulIntoConv } from './fold-mul-into-conv.js';

RuleTester.describe = describe;
RuleTester.it = it;

/** x [N,3,size,size] → Conv (3→5, 3×3) → `op` (Mul) by `scale` (dims, values) → y; `bias: false` leaves the conv without one. */
function convMul(scale: { dims: number[]; values: number[] }, { bias = true, op = 'Mul', size = 4 } = {}): Model {
  const model = newModel(13);
  const g = model.graph;
  const x = g.define('x');
  x.type = { kind: 'tensor', elemType: 1, shape: [{ param: 'N' }, { value: 3 }, { value: size }, { value: size }] };
  g.inputs.push(x);
  const w = g.addInitializer('w', Tensor.float32([5, 3, 3, 3], Array.from({ length: 135 }, (_, i) => Math.sin(i))));
  const b = g.addInitializer('b', Tensor.float32([5], [0.1, -0.2, 0.3, -0.4, 0.5]));
  const y = g.addNode({ op: 'Conv', inputs: bias ? [x, w, b] : [x, w], name: 'conv' }).outputs[0]!;
  const s = g.addInitializer('s', Tensor.float32(scale.dims, scale.values));
  g.outputs.push(g.addNode({ op, inputs: [y, s], name: op.toLowerCase() }).outputs[0]!);
  return model;
}

const perChannel = { dims: [1, 5, 1, 1], values: [2, -1, 0.5, 3, 0] };

new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) }).run(foldMulIntoConv, {
  fires: [
    { name: 'a per-channel Mul after a conv with a bias', model: convMul(perChannel), at: ['conv'], golden: 'fold-mul-into-conv.txt', equivalent: { tolerance: 1e-6 } },
    { name: 'a per-channel Mul after a conv without a bias', model: convMul(perChannel, { bias: false }), at: ['conv'], equivalent: { tolerance: 1e-6 } },
  ],
  declines: [
    { name: 'a Mul that scales positions, not channels', model: convMul({ dims: [1, 1, 1, 2], values: [1, 2] }), reason: "the Mul's other input is not a per-channel constant of 5 values" },
    // [5, 1] has one value per channel but broadcasts along the rows: with 5 rows it is a valid model that scales rows
    { name: 'a Mul by [C, 1], which scales rows', model: convMul({ dims: [5, 1], values: perChannel.values }, { size: 7 }), reason: "the Mul's other input is not a per-channel constant of 5 values" },
    { name: 'a conv whose output is added to, not multiplied', model: convMul(perChannel, { op: 'Add' }), reason: 'output is not read by exactly one Mul' },
  ],
});
