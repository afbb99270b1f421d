import { describe, expect, it } from 'vitest';
import { FtmError, removeDeadNodes, toposort, validateGraph, Tensor } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';

function chain() {
  const { model, g, x } = modelWithInput(['N', 4, 8, 8]);
  const w = randomWeight(g, 'w', [4, 4, 3, 3], 1);
  const conv = g.addNode({ op: 'Conv', inputs: [x, w], name: 'conv', attrs: { pads: [1, 1, 1, 1] } });
  const relu = g.addNode({ op: 'Relu', inputs: [conv.outputs[0]], name: 'relu' });
  g.outputs.push(relu.outputs[0]!);
  return { model, g, x, w, conv, relu };
}

describe('graph editing', () => {
  it('gives fresh names that never reuse an existing value or initializer name', () => {
    const { g, w } = chain();
    const again = g.addInitializer('w', Tensor.float32([1], [0]));
    expect(again.name).not.toBe(w.name);
    expect(g.lookup('w')).toBe(w);
    expect(g.freshName('x')).not.toBe('x');
    expect(new Set([g.freshName('t'), g.freshName('t'), g.freshName('t')]).size).toBe(3);
  });

  it('tracks producers and uses, and replaceAllUses moves them', () => {
    const { g, conv, relu } = chain();
    const y = conv.outputs[0]!;
    expect(y.producer).toBe(conv);
    expect(y.uses).toEqual([{ node: relu, index: 0 }]);
    const sig = g.addNode({ op: 'Sigmoid', inputs: [y], name: 'sig' });
    g.replaceAllUses(y, sig.outputs[0]!);
    // the Sigmoid itself now reads its own output: replaceAllUses moves every use, callers wire the new node after
    expect(relu.inputs[0]).toBe(sig.outputs[0]);
  });

  it('keeps the graph output name when the output value is replaced', () => {
    const { g, relu } = chain();
    const out = relu.outputs[0]!;
    const name = out.name;
    const tanh = g.addNode({ op: 'Tanh', inputs: [relu.inputs[0]], name: 'tanh' });
    g.replaceAllUses(out, tanh.outputs[0]!);
    expect(g.outputs[0]).toBe(tanh.outputs[0]);
    expect(g.outputs[0].name).toBe(name);
    expect(removeDeadNodes(g)).toEqual({ nodes: 1, initializers: 0 });
    expect(g.nodes.map((n) => n.name)).toEqual(['conv', 'tanh']);
    expect(validateGraph(g)).toEqual([]);
  });

  it('removes dead nodes and the initializers only they used', () => {
    const { g, x } = chain();
    const w2 = randomWeight(g, 'w2', [2, 4, 1, 1], 2);
    g.addNode({ op: 'Conv', inputs: [x, w2], name: 'unused' });
    expect(removeDeadNodes(g)).toEqual({ nodes: 1, initializers: 1 });
    expect(g.lookup('w2')).toBeUndefined();
    expect(g.initializers.map((v) => v.name)).toEqual(['w']);
  });

  it('sorts topologically, keeping a sorted graph as it is', () => {
    const { g, conv, relu } = chain();
    g.nodes.reverse();
    toposort(g);
    expect(g.nodes).toEqual([conv, relu]);
    toposort(g);
    expect(g.nodes).toEqual([conv, relu]);
  });

  it('sorts a long chain in linear time without recursion limits', () => {
    const { g, x } = modelWithInput([1]);
    let v = x;
    for (let i = 0; i < 50_000; i++) v = g.addNode({ op: 'Relu', inputs: [v] }).outputs[0]!;
    g.outputs.push(v);
    g.nodes.reverse();
    toposort(g);
    expect(validateGraph(g)).toEqual([]);
  });

  it('names the nodes of a cycle', () => {
    const { g, conv, relu } = chain();
    conv.setInput(0, relu.outputs[0]);
    try {
      toposort(g);
      throw new Error('no error');
    } catch (e) {
      expect((e as FtmError).code).toBe('E_GRAPH_CYCLE');
      expect((e as Error).message).toContain('Conv "conv" -> Relu "relu" -> Conv "conv"');
    }
  });

  it('validation reports undefined inputs, use before definition, duplicate names, unproduced outputs', () => {
    const { g, conv, relu } = chain();
    g.nodes.reverse();
    expect(validateGraph(g)[0]).toMatch(/Relu "relu" input 0 ".*" is not defined before it is used/);
    g.nodes.reverse();
    relu.name = 'conv';
    expect(validateGraph(g)).toEqual(['node name "conv" is used more than once']);
    relu.name = 'relu';
    g.removeNode(relu);
    expect(validateGraph(g)).toEqual([`graph output "${g.outputs[0].name}" is not produced`]);
    expect(conv.outputs[0]!.uses).toEqual([]);
  });
});
