import { describe, expect, it } from 'vitest';
import { cloneModel, DataType, encodeModel, Graph, loadModel, printGraph, Tensor, type Model, type Node, type Value } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';

/**
 * x → Conv (w) → If(cond) whose branches read the Conv's output from the enclosing graph (then: Relu; else: Mul by a
 * branch-local initializer) → y; the Conv output also has a declared type in value_info.
 */
function modelWithIf(): Model {
  const { model, g, x } = modelWithInput(['N', 2, 4, 4]);
  const conv = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [3, 2, 1, 1], 1)], name: 'conv' });
  const convOut = conv.outputs[0]!;
  convOut.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }, { value: 4 }, { value: 4 }] };
  g.valueInfo.push(convOut);
  const cond = g.addInitializer('cond', new Tensor({ dataType: DataType.BOOL, dims: [], data: new Uint8Array([1]) }));
  const branch = (op: 'Relu' | 'Mul') => {
    const sub = new Graph(g);
    sub.name = `${op}_branch`;
    const inputs = op === 'Relu' ? [sub.value(convOut.name)] : [sub.value(convOut.name), sub.addInitializer('half', Tensor.float32([], [0.5]))];
    sub.outputs.push(sub.addNode({ op, inputs, name: `${op}_in_branch` }).outputs[0]!);
    return sub;
  };
  const ifNode = g.addNode({ op: 'If', inputs: [cond], name: 'if', attrs: { then_branch: branch('Relu'), else_branch: branch('Mul') } });
  g.outputs.push(ifNode.outputs[0]!);
  return model;
}

/** Every graph, node and value reachable from a model, subgraphs included. */
function parts(model: Model): { graphs: Graph[]; nodes: Node[]; values: Value[] } {
  const graphs: Graph[] = [];
  const walk = (g: Graph) => {
    graphs.push(g);
    for (const n of g.nodes) for (const sub of n.subgraphs()) walk(sub);
  };
  walk(model.graph);
  const nodes = graphs.flatMap((g) => g.nodes);
  const values = new Set<Value>();
  for (const g of graphs) for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo, ...g.initializers, ...g.localValues()]) values.add(v);
  for (const n of nodes) for (const v of [...n.inputs, ...n.outputs]) if (v) values.add(v);
  return { graphs, nodes, values: [...values] };
}

const bytes = (m: Model) => Buffer.from(encodeModel(m));

describe('cloneModel', () => {
  it('gives the model a save and load gives: same bytes, same printed graph, same scopes and names', () => {
    const model = modelWithIf();
    model.graph.lookup('w')!.type = { kind: 'tensor', elemType: DataType.FLOAT }; // not declared: a save drops it
    const clone = cloneModel(model);
    const loaded = loadModel(encodeModel(model));
    expect(bytes(clone).equals(bytes(model))).toBe(true);
    expect(printGraph(clone.graph)).toBe(printGraph(model.graph));
    const branches = (m: Model) => m.graph.nodes.find((n) => n.opType === 'If')!.subgraphs();
    expect(branches(clone).map((b) => printGraph(b))).toEqual(branches(model).map((b) => printGraph(b)));
    // Names reserved as a load reserves them: the next fresh names agree.
    for (const base of ['w', 'conv', 'half', 'if']) {
      expect(clone.graph.freshName(base)).toBe(loaded.graph.freshName(base));
      expect(clone.graph.freshNodeName(base)).toBe(loaded.graph.freshNodeName(base));
    }
    // Types survive where ONNX stores them (graph inputs, outputs, value_info), as through the bytes.
    const types = (m: Model) => new Map(parts(m).values.map((v) => [v.name, v.type]));
    expect(types(clone)).toEqual(types(loaded));
    expect(clone.graph.lookup('w')!.type).toBeUndefined();
  });

  it('shares no graph, node, value, tensor or type with the original, and wires producers, uses and captured values within the copy', () => {
    const model = modelWithIf();
    const usesBefore = parts(model).values.map((v) => v.uses.length);
    const clone = cloneModel(model);
    const a = parts(model);
    const b = parts(clone);
    expect(b.graphs).toHaveLength(3);
    expect(b.nodes.length).toBe(a.nodes.length);
    expect(b.values.length).toBe(a.values.length);
    for (const g of b.graphs) expect(a.graphs).not.toContain(g);
    for (const n of b.nodes) expect(a.nodes).not.toContain(n);
    for (const v of b.values) {
      expect(a.values).not.toContain(v);
      if (v.producer) expect(b.nodes).toContain(v.producer);
      for (const use of v.uses) expect(b.nodes).toContain(use.node);
      if (v.initializer) expect(a.values.some((o) => o.initializer === v.initializer)).toBe(false);
      if (v.type) expect(a.values.some((o) => o.type === v.type)).toBe(false);
    }
    // Cloning added no use to the original's values.
    expect(parts(model).values.map((v) => v.uses.length)).toEqual(usesBefore);
    // The branches are scopes under the copy's main graph and read its Conv output.
    const convOut = clone.graph.nodes.find((n) => n.opType === 'Conv')!.outputs[0]!;
    for (const sub of clone.graph.nodes.find((n) => n.opType === 'If')!.subgraphs()) {
      expect(sub.parent).toBe(clone.graph);
      expect(sub.nodes[0].inputs[0]).toBe(convOut);
    }
    expect(convOut.uses.map((u) => u.node.opType).sort()).toEqual(['Mul', 'Relu']);
  });

  it('edits of the copy never reach the original', () => {
    const model = modelWithIf();
    const before = bytes(model);
    const printed = printGraph(model.graph);
    const clone = cloneModel(model);
    (clone.graph.lookup('w')!.initializer!.data as Float32Array)[0] = 42;
    const conv = clone.graph.nodes.find((n) => n.opType === 'Conv')!;
    conv.setAttr('pads', [1, 1, 1, 1]);
    clone.graph.rename(conv.outputs[0]!, 'renamed');
    const branch = clone.graph.nodes.find((n) => n.opType === 'If')!.subgraphs()[1];
    (branch.lookup('half')!.initializer!.data as Float32Array)[0] = 2;
    clone.graph.inputs[0].shape = [1, 2, 4, 4];
    clone.graph.addNode({ op: 'Relu', inputs: [clone.graph.inputs[0]], name: 'extra' });
    clone.opsetImport[0].version = 17;
    expect(bytes(model).equals(before)).toBe(true);
    expect(printGraph(model.graph)).toBe(printed);
  });

  it('copies the trained fixture exactly, weights decoded or not, and keeps its path', () => {
    const model = loadModel('fixtures/resnet20/model.onnx');
    const clone = cloneModel(model);
    expect(clone.path).toBe(model.path);
    expect(bytes(clone).equals(bytes(model))).toBe(true);
    expect(printGraph(clone.graph)).toBe(printGraph(model.graph));
    const w = model.graph.initializers[0];
    const copy = clone.graph.lookup(w.name)!.initializer!;
    const original = Float32Array.from(w.initializer!.data as Float32Array);
    expect(Array.from(copy.data as Float32Array)).toEqual(Array.from(original));
    (copy.data as Float32Array)[0] += 1;
    expect((w.initializer!.data as Float32Array)[0]).toBe(original[0]);
  });
});
