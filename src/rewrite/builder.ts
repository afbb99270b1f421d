import type { AttrInit } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { Params } from './fit-contract.js';

type Attrs = Record<string, AttrInit | undefined>;

/**
 * Builds the replacement subgraph a rule proposes, in the IR's own vocabulary. Nothing it creates is part of the graph
 * until the driver commits it; names are fresh and derived from `prefix` (e.g. `layer1/conv/ftm/pw`), so the result
 * reads well in a viewer.
 */
export class Builder {
  readonly nodes: Node[] = [];
  readonly constants: Value[] = [];
  /** The trainable tensors created with `param`, by role. */
  readonly params: Params = new Map();

  constructor(
    private readonly graph: Graph,
    readonly prefix: string,
  ) {}

  /** Undoes a proposal that will not be committed: disconnects the staged nodes and releases their names. */
  discard(): void {
    this.graph.removeNodes(this.nodes);
    for (const v of this.constants) v.initializer = undefined;
    this.graph.forget([...this.nodes.flatMap((n) => n.outputs.filter((v): v is Value => v !== null)), ...this.constants]);
  }

  /** One node with one output; `name` is relative to the prefix. */
  op(opType: string, inputs: (Value | null)[], attrs: Attrs = {}, name = opType.toLowerCase()): Value {
    return this.opN(opType, inputs, 1, attrs, name)[0];
  }

  opN(opType: string, inputs: (Value | null)[], outputs: number, attrs: Attrs = {}, name = opType.toLowerCase()): Value[] {
    const full = `${this.prefix}/${name}`;
    const node = this.graph.createNode({ op: opType, inputs, attrs, name: full, outputs: outputs === 1 ? [full] : Array.from({ length: outputs }, (_, i) => `${full}:${i}`) });
    this.nodes.push(node);
    return node.outputs as Value[];
  }

  /** A copy of an existing node (op, domain, attributes) reading other inputs; returns its outputs. */
  copy(node: Node, inputs: (Value | null)[], name = node.opType.toLowerCase()): Value[] {
    const outs = this.opN(node.opType, inputs, node.outputs.length, {}, name);
    const created = this.nodes[this.nodes.length - 1];
    created.domain = node.domain;
    created.attributes = node.attributes.map((a) => ({ ...a }));
    return outs;
  }

  /** A new weight the rule's `init` (and later fitting) sets; zero-filled until then. */
  param(role: string, dims: number[]): Value {
    const tensor = Tensor.float32(dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
    this.params.set(role, tensor);
    return this.constant(role, tensor);
  }

  /** A fixed constant (shapes, indices, ...). */
  constant(name: string, tensor: Tensor): Value {
    const v = this.graph.createConstant(`${this.prefix}/${name}`, tensor);
    this.constants.push(v);
    return v;
  }

  Conv(x: Value, w: Value, b: Value | null, attrs: Attrs = {}, name = 'conv'): Value {
    return this.op('Conv', b ? [x, w, b] : [x, w], attrs, name);
  }

  Concat(values: Value[], axis: number, name = 'concat'): Value {
    return this.op('Concat', values, { axis }, name);
  }

  Mul(a: Value, b: Value, name = 'mul'): Value {
    return this.op('Mul', [a, b], {}, name);
  }

  Add(a: Value, b: Value, name = 'add'): Value {
    return this.op('Add', [a, b], {}, name);
  }

  Sigmoid(x: Value, name = 'sigmoid'): Value {
    return this.op('Sigmoid', [x], {}, name);
  }

  GlobalAveragePool(x: Value, name = 'gap'): Value {
    return this.op('GlobalAveragePool', [x], {}, name);
  }

  Reshape(x: Value, shape: number[], name = 'reshape'): Value {
    return this.op('Reshape', [x, this.constant(`${name}_shape`, Tensor.int64([shape.length], shape))], {}, name);
  }

  /** Slice along `axis` (opset ≥ 10 form: starts/ends/axes as inputs). */
  Slice(x: Value, axis: number, start: number, end: number, name = 'slice'): Value {
    const c = (n: string, v: number) => this.constant(`${name}_${n}`, Tensor.int64([1], [v]));
    return this.op('Slice', [x, c('starts', start), c('ends', end), c('axes', axis)], {}, name);
  }

  Gather(x: Value, indices: number[], axis: number, name = 'gather'): Value {
    return this.op('Gather', [x, this.constant(`${name}_indices`, Tensor.int64([indices.length], indices))], { axis }, name);
  }
}
