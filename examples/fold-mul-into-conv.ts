import { defineRule, noMatch, type MatchBase, type Node, type Tensor, type Value } from 'ftm-compress';

interface FoldMulMatch extends MatchBase {
  conv: Node;
  mul: Node;
  weight: Tensor;
  bias?: Tensor;
  scale: Float32Array;
}

/** Conv → Mul by a per-channel constant  ⇒  one Conv with scaled weights and bias. */
export const foldMulIntoConv = defineRule<FoldMulMatch, Record<string, never>>({
  name: 'fold-mul-into-conv',
  meta: { description: 'Fold a per-channel constant Mul into the Conv before it', ops: ['Conv'], options: {} },

  match(conv) {
    const [, w, b] = conv.inputs;
    const y = conv.outputs[0]!;
    if (!w?.initializer || (b && !b.initializer)) return noMatch('weight or bias is not constant');
    if (y.uses.length !== 1 || y.uses[0].node.opType !== 'Mul') return noMatch('output is not read by exactly one Mul');
    const mul = y.uses[0].node;
    const s = mul.inputs[1 - y.uses[0].index];
    const channels = w.initializer.dims[0];
    // s broadcasts against the conv output [N, C, ...] from the right: per channel means C values on axis 1, 1 elsewhere
    const rank = w.initializer.dims.length;
    const perChannel = (dims: readonly number[]) => dims.length >= rank - 1 && dims.length <= rank && dims.every((d, k) => d === (rank - dims.length + k === 1 ? channels : 1));
    if (!s?.initializer || !perChannel(s.initializer.dims)) {
      return noMatch(`the Mul's other input is not a per-channel constant of ${channels} values`);
    }
    const constants: Value[] = b ? [w, b, s] : [w, s];
    return { nodes: [conv, mul], constants, conv, mul, weight: w.initializer, bias: b?.initializer, scale: s.initializer.toFloat32() };
  },

  rewrite(m, b) {
    const [x] = m.conv.inputs;
    const weight = b.param('weight', m.weight.dims);
    const bias = b.param('bias', [m.weight.dims[0]]);
    return { replace: [[m.mul.outputs[0]!, b.copy(m.conv, [x, weight, bias], 'conv')[0]]] };
  },

  init(m, params) {
    const w = m.weight.toFloat32(), bias = m.bias?.toFloat32();
    const per = w.length / m.scale.length;
    const outW = params.get('weight')!.data as Float32Array, outB = params.get('bias')!.data as Float32Array;
    for (let c = 0; c < m.scale.length; c++) {
      for (let i = 0; i < per; i++) outW[c * per + i] = w[c * per + i] * m.scale[c];
      outB[c] = (bias?.[c] ?? 0) * m.scale[c];
    }
  },
});

export default foldMulIntoConv;
