import { inferShapes, isNoMatch, noMatch, type Graph, type NoMatch, type Node, type Shape, type Value } from '../src/index.js';

/** A constant the rewrite slices to the kept channels along `axis`, at input `input` of `node`. */
export interface ChannelSlice {
  node: Node;
  input: number;
  role: string;
  value: Value;
  axis: number;
}

/** Where a convolution's output channels go, up to the nodes that consume them as input channels or features. */
export interface PrunePath {
  /** Channel-wise nodes between the convolution and its consumers, in topological order. */
  ops: Node[];
  /** Nodes that read the channels as input channels (Conv) or features (Gemm, MatMul after a 1×1 Flatten). */
  consumers: Node[];
  /** The constants of `ops` and `consumers` to slice (per-channel parameters, consumer weights). */
  slices: ChannelSlice[];
  /** Depthwise convolutions among `ops`: their `group` becomes the number of channels kept. */
  depthwise: Node[];
}

/** A value that carries the pruned channels on axis 1. */
interface Carrier {
  rank: number;
  /** Spatial size known to be 1 (after a global pool), so that a Flatten keeps one feature per channel. */
  pointwise: boolean;
}

/** Unary ops that act on each element alone; inputs after the first (Clip's bounds, Dropout's ratio) are scalars. */
const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'Mish', 'Gelu', 'Erf', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign',
  'Identity', 'Clip', 'Dropout', 'MaxPool', 'AveragePool', 'LpPool',
]);
const GLOBAL_POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
/** Normalizations with per-channel constant inputs [C], by input slot (from 1). */
const NORMS: Record<string, string[]> = { BatchNormalization: ['scale', 'bias', 'mean', 'var'], InstanceNormalization: ['scale', 'bias'] };
/** Broadcasting ops: every input is either a carrier of the same channels or a constant that is per-channel or channel-free. */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'Pow', 'PRelu']);

type Step = { carrier: Carrier } | { consumer: true } | { waitFor: Value } | NoMatch;

/**
 * Follows `conv`'s output through channel-wise ops to its consumers, breadth first. A node with several inputs waits
 * until each is a carrier of the same channels or a constant; one still waiting at the end is a residual join.
 */
export function followChannels(conv: Node, graph: Graph): PrunePath | NoMatch {
  const dims = conv.inputs[1]!.initializer!.dims;
  const channels = dims[0];
  const y = conv.outputs[0]!;
  const carriers = new Map<Value, Carrier>([[y, { rank: dims.length, pointwise: false }]]);
  const done = new Set<Node>([conv]);
  const waiting = new Map<Node, { from: Value; other: Value }>();
  const path: PrunePath = { ops: [], consumers: [], slices: [], depthwise: [] };
  let shapes: Map<Value, Shape> | undefined;
  const shapeOf = (v: Value): Shape => (shapes ??= inferShapes(graph)).get(v);
  const where = (v: Value) => (v === y ? 'output' : `output (through ${v.producer!.label})`);

  const queue = [y];
  while (queue.length) {
    const v = queue.shift()!;
    if (graph.outputs.includes(v)) return noMatch(`${where(v)} is the graph output "${v.name}": its channel count is part of the model's interface`);
    for (const { node, index } of v.uses) {
      if (done.has(node)) continue;
      const step = stepInto(node, index, carriers.get(v)!, { channels, carriers, shapeOf, path });
      if (isNoMatch(step)) return noMatch(`${where(v)} feeds ${step.noMatch}`);
      if ('waitFor' in step) {
        waiting.set(node, { from: v, other: step.waitFor });
        continue;
      }
      done.add(node);
      if ('consumer' in step) continue;
      const extra = node.outputs.slice(1).find((o) => o && (o.uses.length || graph.outputs.includes(o)));
      if (extra) return noMatch(`${where(v)} feeds ${node.label}, whose second output "${extra.name}" is used: only single-output copies are made`);
      path.ops.push(node);
      const out = node.outputs[0]!;
      carriers.set(out, step.carrier);
      queue.push(out);
    }
  }
  for (const [node, { from }] of waiting) {
    if (done.has(node)) continue;
    const why = node.opType === 'Add' || node.opType === 'Sum' ? 'residual connections force the same channels on both sides' : 'both sides would need the same channels removed';
    return noMatch(`${where(from)} feeds ${node.label} whose other input is not a constant: ${why}`);
  }
  return path;
}

interface Walk {
  channels: number;
  carriers: Map<Value, Carrier>;
  shapeOf: (v: Value) => Shape;
  path: PrunePath;
}

/**
 * What `node`, reading a carrier at input `index`, is: a channel-wise op (its output carries on; the caller appends it to
 * `path.ops`), a consumer (appended here), or neither. Slices of its constants are appended to `path.slices`.
 */
function stepInto(node: Node, index: number, carrier: Carrier, walk: Walk): Step {
  const { channels, carriers, path } = walk;
  const op = node.isOnnxDomain ? node.opType : `${node.domain}:${node.opType}`;
  const label = node.label;
  const slot = `${label} at input ${index}`;
  const chan = `chan${path.ops.length}`;
  const consumer = `consumer${path.consumers.length}`;
  const consume = (input: number, axis: number): Step => {
    const w = node.inputs[input];
    if (!w?.initializer) return noMatch(`${label} whose weight is not a constant initializer`);
    path.slices.push({ node, input, role: `${consumer}.weight`, value: w, axis });
    path.consumers.push(node);
    return { consumer: true };
  };
  const isOp = (...ops: string[]) => ops.includes(op);

  if (isOp('Conv')) {
    if (index !== 0) return noMatch(`${slot}, not as its data input`);
    const group = node.getInt('group', 1);
    const w = node.inputs[1]?.initializer;
    if (group === channels && w?.dims[0] === channels && w.dims[1] === 1 && w.dims.length === carrier.rank) {
      // depthwise (one filter per channel): channel-wise, its weight and bias are sliced like the channels
      const b = node.inputs[2];
      if (b && !b.initializer) return noMatch(`${label}, a depthwise convolution whose bias is not a constant initializer`);
      path.slices.push({ node, input: 1, role: `${chan}.weight`, value: node.inputs[1]!, axis: 0 });
      if (b) path.slices.push({ node, input: 2, role: `${chan}.bias`, value: b, axis: 0 });
      path.depthwise.push(node);
      return { carrier: { rank: carrier.rank, pointwise: false } };
    }
    if (group !== 1) return noMatch(`${label}, a grouped convolution (group=${group}): its input channels cannot be removed one by one`);
    if (node.inputs[1]?.initializer?.dims.length !== carrier.rank) return noMatch(`${label} whose weight is not a constant initializer of rank ${carrier.rank}`);
    return consume(1, 1);
  }
  if (isOp('Gemm', 'MatMul')) {
    if (index !== 0 || node.getInt('transA', 0) !== 0) return noMatch(`${slot}, not as its (untransposed) first input`);
    if (carrier.rank !== 2) return noMatch(`${label} directly on a ${carrier.rank}-D map: only features flattened from [N,C,1,1] are followed`);
    const w = node.inputs[1]?.initializer;
    if (w && w.dims.length !== 2) return noMatch(`${label} whose weight is not 2-D`);
    return consume(1, op === 'Gemm' && node.getInt('transB', 0) === 1 ? 1 : 0);
  }
  if (index !== 0 && !isOp(...ELEMENTWISE)) return noMatch(`${slot}, which is not its data input`);
  if (UNARY.has(op)) return { carrier };
  if (GLOBAL_POOLS.has(op)) return { carrier: { rank: carrier.rank, pointwise: true } };
  if (op in NORMS) {
    const roles = NORMS[op];
    for (let i = 1; i <= roles.length; i++) {
      const p = node.inputs[i];
      if (!p?.initializer || p.initializer.dims.join() !== `${channels}`) return noMatch(`${label} whose ${roles[i - 1]} is not a constant of shape [${channels}]`);
    }
    roles.forEach((role, i) => path.slices.push({ node, input: i + 1, role: `${chan}.${role}`, value: node.inputs[i + 1]!, axis: 0 }));
    return { carrier };
  }
  if (op === 'Flatten') {
    const axis = node.getInt('axis', 1);
    if (carrier.rank === 2 && (axis === 1 || axis === -1)) return { carrier };
    if (axis !== 1) return noMatch(`${label} on axis ${axis}: its features mix channels and positions`);
    const spatial = walk.shapeOf(node.inputs[0]!)?.slice(2);
    if (!carrier.pointwise && !(spatial && spatial.every((d) => d === 1))) {
      return noMatch(`${label} of a map whose spatial size is not known to be 1×1: its features mix channels and positions`);
    }
    return { carrier: { rank: 2, pointwise: true } };
  }
  if (ELEMENTWISE.has(op)) {
    const sliced: { input: number; value: Value; axis: number }[] = [];
    for (let i = 0; i < node.inputs.length; i++) {
      const u = node.inputs[i];
      if (!u) continue;
      const other = carriers.get(u);
      if (other) {
        if (other.rank !== carrier.rank) return noMatch(`${label}, which joins a ${carrier.rank}-D and a ${other.rank}-D map of the same channels`);
        continue;
      }
      if (!u.initializer) return { waitFor: u };
      const axis = channelAxis(u.initializer.dims, carrier.rank, channels);
      if (typeof axis === 'string') return noMatch(`${label} whose constant "${u.name}" ${axis}`);
      if (axis !== undefined) sliced.push({ input: i, value: u, axis });
    }
    const name = (i: number) => (op === 'PRelu' ? 'slope' : sliced.length > 1 ? `operand${i}` : 'operand');
    for (const s of sliced) path.slices.push({ node, ...s, role: `${chan}.${name(s.input)}` });
    return { carrier };
  }
  return noMatch(`${label}, which prune cannot follow: only channel-wise ops up to Conv, Gemm or MatMul consumers keep channels separable`);
}

/** The axis of a constant operand that lines up with the channels (undefined when it is channel-free), or why it cannot be sliced. */
function channelAxis(dims: number[], rank: number, channels: number): number | undefined | string {
  if (dims.length > rank) return `has rank ${dims.length} > ${rank}`;
  const axis = dims.length - (rank - 1);
  if (axis < 0 || dims[axis] === 1) return undefined;
  if (dims[axis] === channels) return axis;
  return `has ${dims[axis]} entries on the channel axis, not 1 or ${channels}`;
}
