/**
 * The contract between the reverse-mode engine (src/grad/training-graph.ts), its per-operator gradient rules
 * (src/grad/rules/*), and the distillation loop (src/distill/): gradients are ONNX graphs that onnxruntime runs.
 */
import type { KnownShapes } from '../analysis/shapes.js';
import type { Model } from '../ir/model.js';
import type { AttrInit, Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/** A static shape: known dims as numbers, the batch dim and other unknowns as null; undefined when the rank is unknown. */
export type StaticShape = (number | null)[] | undefined;

/** What a rule may ask about the forward graph before and while it builds a gradient. */
export interface GradInfo {
  /** The default (ai.onnx) opset of the training graph: emitted ops must exist there. */
  readonly opset: number;
  /** The static shape of a forward value. */
  shape(v: Value | null | undefined): StaticShape;
  /** The values of a constant input (an initializer or a Constant node's tensor), read as numbers; else undefined. */
  constantValues(v: Value | null | undefined): number[] | undefined;
}

/**
 * What a gradient rule builds the backward nodes with: they go straight into the training graph, named after the
 * forward node they differentiate. The helpers emit the form of each operator that the opset has (ReduceSum's axes
 * as an attribute below opset 13 and as an input from 13, and so on), so rules never test the opset themselves.
 */
export interface GradContext extends GradInfo {
  /** Adds one node to the training graph and returns its first output. */
  op(opType: string, inputs: (Value | null)[], attrs?: Record<string, AttrInit | undefined>): Value;
  /** Adds one node with `outputs` outputs and returns them all. */
  ops(opType: string, inputs: (Value | null)[], outputs: number, attrs?: Record<string, AttrInit | undefined>): Value[];
  /** A constant of the training graph. */
  constant(name: string, tensor: Tensor): Value;
  /** A float32 scalar constant (shared by every rule that asks for the same number). */
  scalar(value: number): Value;
  /** A 1-D int64 constant (shapes, axes, indices). */
  ints(values: readonly number[]): Value;
  reduceSum(x: Value, axes: readonly number[], keepdims: boolean): Value;
  unsqueeze(x: Value, axes: readonly number[]): Value;
  split(x: Value, sizes: readonly number[], axis: number): Value[];
  /** The runtime shape of `v` (a Shape node, shared by every rule that asks). */
  shapeOf(v: Value): Value;
  /** Reshapes `x` to the runtime shape of `like` (dynamic batch included). */
  reshapeLike(x: Value, like: Value): Value;
  /** Float zeros of the runtime shape of `like`. */
  zerosLike(like: Value): Value;
  /** Sums a gradient of static shape `gradShape`, computed where `x` was broadcast, back to the shape of `x`. */
  unbroadcast(grad: Value, gradShape: StaticShape, x: Value): Value;
  /** Whether the engine wants the gradient of this forward value: rules skip the inputs it does not want. */
  needsGrad(v: Value | null | undefined): boolean;
  /** Output `index` of forward node `node`, added to it when the model left that optional output out. */
  forwardOutput(node: Node, index: number): Value;
}

/**
 * A gradient rule for one operator: a plain object, listed by operator type in src/grad/rules/index.ts.
 */
export interface GradRule {
  /**
   * Input slots through which a gradient can flow (default: all). Shapes, axes, indices and sizes carry none, so a
   * path from a trainable through them is no path to the loss.
   */
  readonly inputs?: readonly number[];
  /**
   * Why this rule cannot differentiate `node` (a configuration it does not cover, a shape it needs but cannot know),
   * or undefined when it can. Asked before any backward node is built, so an uncovered node freezes the trainables
   * behind it rather than failing the whole graph.
   */
  check?(node: Node, info: GradInfo): string | undefined;
  /**
   * Given the gradients flowing into the node's outputs (null where an output gets none), returns the gradient for
   * each input (null where the engine does not need it or the input has none). Rules reuse the forward node's own
   * values: its inputs and outputs stay in the training graph.
   */
  backward(node: Node, gradOutputs: (Value | null)[], ctx: GradContext): (Value | null)[];
}

export interface TrainingGraphOptions {
  /** Initializer names to train: each becomes a graph input of the same name, fed every step. */
  trainable: string[];
  /** Distillation loss on the student's output against the teacher's, fed as graph input `teacher`. */
  loss: { kind: 'kl'; temperature: number } | { kind: 'mse' };
  /** The student output the loss reads (default: the first graph output). */
  output?: string;
  /** Optional feature MSE terms: student value `value` against graph input `teacher:<value>`, times `weight`. */
  features?: { value: string; weight: number }[];
  /**
   * Shapes static propagation cannot give (src/runtime/observe-shapes.ts), by value name of the student: without
   * them a node after a Reshape to a computed shape has no known rank, and the trainables before it stay frozen. The
   * training graph then runs at the input size they were observed at.
   */
  shapes?: KnownShapes;
}

export interface TrainingGraph {
  /**
   * Inputs: the student's inputs, `teacher` (and `teacher:<value>` per feature term), then the trainables that get a
   * gradient (frozen ones stay initializers of the training graph). Outputs: `loss` (a scalar), then `grad:<name>` for
   * each entry of `trainable` below, in that order.
   */
  model: Model;
  /** Trainables that get a gradient, in the order of `options.trainable`. */
  trainable: string[];
  /** Trainables left frozen, with why (e.g. `the path to the loss crosses Resize "up1", which has no gradient rule`). */
  frozen: { name: string; reason: string }[];
}
