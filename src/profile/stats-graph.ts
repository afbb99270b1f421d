import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { onnxOpset } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import { cloneModel } from '../ir/clone.js';

/** Graph outputs carrying one layer's statistics for one batch; F is the Conv output seen as [C, positions]. */
export interface StatsOutputs {
  /** Σ over the batch's positions of (F − μ)(F − μ)ᵀ, [C, C] (centered within the batch, for precision). */
  gram: string;
  /** μ, the per-channel mean over the batch's positions, [C, 1]. */
  mean: string;
  /** Per-channel maximum and minimum, [C]. */
  max: string;
  min: string;
  /** The Conv output's shape, int64 [rank]. */
  shape: string;
}

/**
 * A copy of the model that, per batch, outputs only the statistics of the chosen Conv outputs: the reductions run on
 * onnxruntime right after each Conv, so activations never leave it. Nodes that feed no statistic are dropped, and the
 * input's batch dim is made symbolic so any batch size runs.
 */
export function statisticsModel(model: Model, outputs: readonly Value[], inputName: string): { model: Model; outputs: StatsOutputs[] } {
  const copy = cloneModel(model);
  const graph = copy.graph;
  const reductions = new Reductions(graph, onnxOpset(copy) ?? 1);
  const stats = outputs.map((f) => reductions.add(graph.lookup(f.name)!));
  graph.outputs = stats.flatMap((o) => Object.values(o).map((name) => graph.lookup(name)!));
  removeDeadNodes(graph);
  freeBatchDim(graph, inputName);
  return { model: copy, outputs: stats };
}

/** Appends reduction nodes valid for the model's opset; the small constants they share are added once. */
class Reductions {
  private readonly perSample: Value;
  private readonly perChannel: Value;
  private readonly axes: Value | undefined;
  private readonly zero: Value | undefined;

  constructor(private readonly graph: Graph, opset: number) {
    this.perSample = graph.addInitializer('stats_per_sample', Tensor.int64([3], [0, 0, -1]));
    this.perChannel = graph.addInitializer('stats_per_channel', Tensor.int64([2], [0, -1]));
    // Reduce* take axes as an input from opset 18 (ReduceSum from 13, not used here); Gemm's C is optional from 11.
    this.axes = opset >= 18 ? graph.addInitializer('stats_axes', Tensor.int64([1], [1])) : undefined;
    this.zero = opset < 11 ? graph.addInitializer('stats_zero', Tensor.float32([], [0])) : undefined;
  }

  add(f: Value): StatsOutputs {
    const g = this.graph;
    const base = `stats/${f.name}`;
    const node = (op: string, inputs: (Value | null)[], attrs = {}) => g.addNode({ op, inputs, attrs, name: `${base}/${op}` }).outputs[0]!;
    // [N, C, ...spatial] → [N, C, S] → [C, N, S] → [C, positions]: one row per channel for one big GEMM, any rank.
    const samples = node('Reshape', [f, this.perSample]);
    const x = node('Reshape', [node('Transpose', [samples], { perm: [1, 0, 2] }), this.perChannel]);
    const mean = this.reduce(node, 'ReduceMean', x, 1);
    const centered = node('Sub', [x, mean]);
    const gram = node('Gemm', this.zero ? [centered, centered, this.zero] : [centered, centered], { transB: 1 });
    const max = this.reduce(node, 'ReduceMax', x, 0);
    const min = this.reduce(node, 'ReduceMin', x, 0);
    const shape = node('Shape', [f]);
    return { gram: gram.name, mean: mean.name, max: max.name, min: min.name, shape: shape.name };
  }

  private reduce(node: (op: string, inputs: Value[], attrs?: object) => Value, op: string, x: Value, keepdims: number): Value {
    return this.axes ? node(op, [x, this.axes], { keepdims }) : node(op, [x], { axes: [1], keepdims });
  }
}

/**
 * Makes the input's batch dim symbolic, and drops the declared shapes of intermediate values (onnxruntime infers them
 * again), so that a model exported with a fixed batch of 1 runs on batches of any size.
 */
function freeBatchDim(graph: Graph, inputName: string): void {
  const type = graph.inputs.find((v) => v.name === inputName)?.type;
  if (type?.kind === 'tensor' && type.shape?.length) type.shape = [{ param: 'batch' }, ...type.shape.slice(1)];
  graph.valueInfo = [];
}
