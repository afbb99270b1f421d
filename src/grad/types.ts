/**
 * The contract between the reverse-mode engine (src/grad/training-graph.ts), its per-operator gradient rules
 * (src/grad/rules/*), and the distillation loop (src/distill/): gradients are ONNX graphs that onnxruntime runs.
 */
import type { Model } from '../ir/model.js';
import type { AttrInit, Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/** What a gradient rule builds the backward nodes with: they go straight into the training graph. */
export interface GradContext {
  /** Adds one node to the training graph and returns its (first) output. */
  op(opType: string, inputs: (Value | null)[], attrs?: Record<string, AttrInit | undefined>, name?: string): Value;
  /** A constant of the training graph. */
  constant(name: string, tensor: Tensor): Value;
  /** The static shape of a forward value, batch dim and other unknowns as null; undefined when the rank is unknown. */
  shape(v: Value): (number | null)[] | undefined;
  /** Sums a gradient computed at a broadcast shape back to the shape of forward input `x`. */
  unbroadcast(grad: Value, x: Value): Value;
}

/**
 * A gradient rule: given a forward node and the gradients flowing into its outputs (null where an output gets none),
 * returns the gradient for each input (null where the input needs none or has none: indices, shapes). Rules reuse the
 * forward node's own values (its inputs and outputs stay in the training graph).
 */
export type GradRule = (node: Node, gradOutputs: (Value | null)[], ctx: GradContext) => (Value | null)[];

export interface TrainingGraphOptions {
  /** Initializer names to train: each becomes a graph input of the same name, fed every step. */
  trainable: string[];
  /** Distillation loss on the student's output against the teacher's, fed as graph input `teacher`. */
  loss: { kind: 'kl'; temperature: number } | { kind: 'mse' };
  /** The student output the loss reads (default: the first graph output). */
  output?: string;
  /** Optional feature MSE terms: student value `value` against graph input `teacher:<value>`, times `weight`. */
  features?: { value: string; weight: number }[];
}

export interface TrainingGraph {
  /**
   * Inputs: the student's inputs, `teacher` (and `teacher:<value>` per feature term), then the trainables.
   * Outputs: `loss` (a scalar, averaged over the batch), then `grad:<name>` for each entry of `trainable`.
   */
  model: Model;
  /** Trainables that get a gradient. */
  trainable: string[];
  /** Trainables left frozen, with why (e.g. `the path to the loss crosses Resize "up1", which has no gradient rule`). */
  frozen: { name: string; reason: string }[];
}
