import { nodeKey, type Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Emitter } from './emitter.js';
import type { ForwardInfo } from './forward-info.js';
import type { GradContext, StaticShape } from './types.js';
import { unbroadcast } from './unbroadcast.js';

/** What one rule call builds with: an emitter named after the forward node, plus the forward graph's facts. */
export class NodeGradContext extends Emitter implements GradContext {
  constructor(
    parent: Emitter,
    node: Node,
    private readonly info: ForwardInfo,
    private readonly wanted: ReadonlySet<Value>,
  ) {
    super(parent.graph, parent.opset, `${nodeKey(node)}/grad`, parent.cache);
  }

  shape(v: Value | null | undefined): StaticShape {
    return this.info.shape(v);
  }

  constantValues(v: Value | null | undefined): number[] | undefined {
    return this.info.constantValues(v);
  }

  unbroadcast(grad: Value, gradShape: StaticShape, x: Value): Value {
    return unbroadcast(this, grad, gradShape, x, this.shape(x));
  }

  needsGrad(v: Value | null | undefined): boolean {
    return !!v && this.wanted.has(v);
  }

  forwardOutput(node: Node, index: number): Value {
    const existing = node.outputs[index];
    if (existing) return existing;
    while (node.outputs.length < index) this.graph.attachOutput(node, null);
    const v = this.graph.newValue(`${nodeKey(node)}/output${index}`);
    if (node.outputs.length === index) this.graph.attachOutput(node, v);
    else {
      node.outputs[index] = v;
      v.producer = node;
    }
    return v;
  }
}
