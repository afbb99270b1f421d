import { defineRule, inferShapes, noMatch, type MatchBase, type Node, type Value } from '../src/index.js';

/** Ops that act on each channel alone, so a channel Gather can move past them. */
const CHANNELWISE = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Clip', 'Elu', 'Selu', 'Softplus']);

export interface FoldGatherMatch extends MatchBase {
  gather: Node;
  source: Value;
  indices: number[];
  sourceChannels: number;
  /** Channel-wise ops between the Gather and the convs, in order from the Gather. */
  chain: Node[];
  convs: Node[];
}

/**
 * Gather(x, idx, axis=1) → channel-wise ops → Conv(s): the Conv reads channel idx[c] of x where it read channel c, so its
 * weight's input channels can absorb the permutation (W'[:, k] = Σ_{c: idx[c]=k} W[:, c]) and the Gather disappears.
 * This removes the reorder the FTM rule leaves after a conv whose consumers are convs.
 */
export const foldGather = defineRule<FoldGatherMatch, Record<string, never>>({
  name: 'fold-gather',
  meta: { description: 'Fold a channel Gather into the Conv weights that consume it', ops: ['Gather'], options: {} },

  match(gather, { graph }) {
    const [source, idx] = gather.inputs;
    if (!source || !idx?.initializer || idx.initializer.dims.length !== 1) return noMatch('the indices are not a constant vector');
    if (gather.getInt('axis', 0) !== 1) return noMatch('not a channel gather (axis ≠ 1)');
    const chain: Node[] = [];
    let value = gather.outputs[0]!;
    while (value.uses.length === 1 && CHANNELWISE.has(value.uses[0].node.opType) && value.uses[0].index === 0) {
      chain.push(value.uses[0].node);
      value = value.uses[0].node.outputs[0]!;
    }
    if (graph.outputs.includes(value)) return noMatch(`"${value.name}" is a graph output`);
    const convs = value.uses.map((u) => u.node);
    const bad = value.uses.find((u) => u.node.opType !== 'Conv' || u.index !== 0 || u.node.getInt('group', 1) !== 1 || !u.node.inputs[1]?.initializer);
    if (bad || convs.length === 0) return noMatch(bad ? `consumer ${bad.node.label} is not a plain Conv with a constant weight` : 'no consumers');
    const channels = inferShapes(graph).get(source)?.[1];
    if (typeof channels !== 'number') return noMatch(`the channel count of "${source.name}" is unknown`);
    const indices = Array.from(idx.initializer.data as BigInt64Array, Number).map((i) => (i < 0 ? i + channels : i));
    const extras = chain.flatMap((n) => n.inputs.slice(1)).filter((v): v is Value => v !== null);
    return {
      nodes: [gather, ...chain, ...convs],
      constants: [idx, ...extras, ...convs.map((c) => c.inputs[1]!)],
      gather, source, indices, sourceChannels: channels, chain, convs,
    };
  },

  rewrite(m, b) {
    let value = m.source;
    for (const node of m.chain) value = b.copy(node, [value, ...node.inputs.slice(1)], node.opType.toLowerCase())[0];
    const replace = m.convs.map((conv, i): [Value, Value] => {
      const w = conv.inputs[1]!.initializer!;
      const weight = b.param(`conv${i}.weight`, [w.dims[0], m.sourceChannels, ...w.dims.slice(2)]);
      return [conv.outputs[0]!, b.copy(conv, [value, weight, ...conv.inputs.slice(2)], `conv${i}`)[0]];
    });
    return { replace };
  },

  init(m, params) {
    m.convs.forEach((conv, i) => {
      const w = conv.inputs[1]!.initializer!;
      const [cout, cin] = w.dims;
      const k = w.size / (cout * cin);
      const src = w.toFloat32();
      const dst = params.get(`conv${i}.weight`)!.data as Float32Array;
      for (let o = 0; o < cout; o++)
        m.indices.forEach((from, c) => {
          for (let j = 0; j < k; j++) dst[(o * m.sourceChannels + from) * k + j] += src[(o * cin + c) * k + j];
        });
    });
  },
});

