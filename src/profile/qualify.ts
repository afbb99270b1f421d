import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { constantTensor, type ConvLayer } from './layers.js';

/**
 * The Convs that read the model's input with no other Conv in between (the stem). They are excluded by default: with
 * few input channels the rank-1 prime kernels save little, and an error there reaches every later layer.
 */
export function firstConvs(graph: Graph): Set<Node> {
  const afterConv = new Set<Value>();
  const first = new Set<Node>();
  // Nodes are in topological order (ONNX requires it), so one pass marks every value downstream of a Conv.
  for (const node of graph.nodes) {
    const isConv = node.isOnnxDomain && node.opType === 'Conv';
    const fed = node.inputs.some((v) => v && afterConv.has(v));
    if (isConv && !(node.inputs[0] && afterConv.has(node.inputs[0]))) first.add(node);
    if (isConv || fed) for (const v of node.outputs) if (v) afterConv.add(v);
  }
  return first;
}

/**
 * Why the FTM rewrite cannot (or by default will not) take this layer, or undefined when it qualifies: a 2-D Conv with
 * groups = 1 and constant float32 weights that it owns alone, and not a first conv unless `includeFirst`.
 */
export function disqualification(layer: ConvLayer, first: ReadonlySet<Node>, includeFirst = false): string | undefined {
  const { node } = layer;
  const w = node.inputs[1];
  const weight = constantTensor(w);
  if (!w || !weight) return `weight is not a constant (${origin(w)})`;
  if (weight.dims.length !== 4) return `not a 2-D convolution (${weight.dims.length - 2}-D kernel)`;
  if (weight.dataType !== DataType.FLOAT) return `weight is ${dtypeName(weight.dataType)}, expected float32`;
  const group = node.getInt('group', 1);
  if (group !== 1) return weight.dims[1] === 1 ? `depthwise convolution (group ${group})` : `grouped convolution (group ${group})`;
  if (weight.dims[0] < 2) return 'a single output channel: nothing to pair';
  const other = w.uses.find((u) => u.node !== node);
  if (other) return `weight "${w.name}" is shared with ${other.node.label}`;
  const bias = node.inputs[2];
  if (bias && !constantTensor(bias)) return `bias is not a constant (${origin(bias)})`;
  if (!includeFirst && first.has(node)) return 'first convolution (excluded by default)';
  return undefined;
}

function origin(v: Value | null | undefined): string {
  if (!v) return 'missing';
  if (v.isGraphInput) return `fed by graph input "${v.name}"`;
  return v.producer ? `computed by ${v.producer.label}` : `"${v.name}" is undefined`;
}
