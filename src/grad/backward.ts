import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';
import { NodeGradContext } from './context.js';
import { Emitter } from './emitter.js';
import type { ForwardInfo } from './forward-info.js';
import { analyzePaths } from './paths.js';
import { ruleFor } from './rules/index.js';

export interface Backward {
  /** The gradient of the loss for each live trainable, in the order given. */
  grads: Map<Value, Value>;
  /** Trainables that get none, with why. */
  frozen: Map<Value, string>;
}

/**
 * Appends to `graph` the reverse-mode gradient of the scalar `loss` with respect to `trainables`. The forward nodes,
 * in topological order, are walked backwards; each node on a path from a live trainable to the loss has its rule
 * turn the gradients of its outputs into gradients of its inputs. A value read several times gets the Sum of what each
 * reader gave it, built when its own producer is reached (by then every reader, coming later in the order, has given).
 */
export function appendBackward(graph: Graph, loss: Value, trainables: readonly Value[], info: ForwardInfo): Backward {
  const { live, frozen, active } = analyzePaths(graph, loss, trainables, info);
  const root = new Emitter(graph, info.opset, 'grad');
  const given = new Map<Value, Value[]>([[loss, [root.at('loss/grad').scalar(1)]]]);
  const take = (v: Value): Value | null => {
    const parts = given.get(v) ?? [];
    if (parts.length <= 1) return parts[0] ?? null;
    return root.at(`${v.name}/grad`).op('Sum', parts);
  };

  for (const node of [...graph.nodes].reverse()) {
    if (!node.outputs.some((v) => v && active.has(v))) continue;
    const gradOutputs = node.outputs.map((v) => (v && active.has(v) ? take(v) : null));
    if (gradOutputs.every((g) => g === null)) continue;
    const ctx = new NodeGradContext(root, node, info, active);
    const gradInputs = ruleFor(node)!.backward(node, gradOutputs, ctx);
    node.inputs.forEach((v, i) => {
      const g = gradInputs[i];
      if (v && g && active.has(v)) given.set(v, [...(given.get(v) ?? []), g]);
    });
  }

  // A trainable whose readers all gave nothing has a zero gradient (e.g. it reaches the loss only through a rule that
  // knows its contribution vanishes); the contract still promises a gradient output.
  const grads = new Map(live.map((t) => [t, take(t) ?? root.at(`${t.name}/grad`).zerosLike(t)]));
  return { grads, frozen };
}
