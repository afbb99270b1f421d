import { convGeometry, convOutputSize } from '../ir/conv.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';

/** A shape with known dims as numbers and unknown ones as null; undefined when even the rank is unknown. */
export type Shape = (number | null)[] | undefined;

/**
 * What is known about values from outside the graph, by value name: the input size that was chosen, or what a run
 * of the model showed (src/runtime/observe-shapes.ts). `dims` has null where a dim follows the batch; `values` holds
 * the contents of small integer tensors (shape arithmetic) that are the same whatever the batch, and so are constants
 * at the input size the dims were observed at.
 */
export interface KnownShapes {
  dims: ReadonlyMap<string, readonly (number | null)[]>;
  values: ReadonlyMap<string, readonly number[]>;
}

const SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'Elu', 'Selu', 'Softplus', 'Softsign',
  'Dropout', 'Identity', 'Softmax', 'LogSoftmax', 'Cast', 'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Erf', 'Mish', 'Gelu',
  'BatchNormalization', 'InstanceNormalization', 'LRN', 'LayerNormalization', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Not',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Greater', 'Less', 'And', 'Or', 'Where']);

/**
 * Static shape propagation for the operators of CNNs, from the graph inputs (symbolic dims become `symbolic`, e.g.
 * batch 1). Operators it does not know fall back to the shapes declared in the model; otherwise unknown. A value
 * listed in `known` takes its shape from there instead (batch dims become `symbolic` too), and propagation goes on:
 * the chosen input size reaches every layer, and a Reshape to a computed shape no longer hides everything after it.
 */
export function inferShapes(graph: Graph, symbolic = 1, known?: KnownShapes): Map<Value, Shape> {
  const shapes = new Map<Value, Shape>();
  const shapeOf = (v: Value | null | undefined): Shape => {
    if (!v) return undefined;
    if (shapes.has(v)) return shapes.get(v);
    const declared = v.shape?.map((d) => (typeof d === 'number' ? d : typeof d === 'string' ? symbolic : null));
    return declared;
  };
  const settle = (v: Value, inferred: Shape) => {
    const seen = known?.dims.get(v.name);
    shapes.set(v, seen ? seen.map((d) => d ?? symbolic) : inferred);
  };
  for (const v of graph.inputs) settle(v, shapeOf(v));
  for (const node of graph.nodes) {
    let out: Shape[];
    try {
      out = outputShapes(node, node.inputs.map(shapeOf));
    } catch {
      out = [];
    }
    node.outputs.forEach((v, i) => v && settle(v, out[i] ?? shapeOf(v)));
  }
  return shapes;
}

function constInts(v: Value | null | undefined): number[] | undefined {
  const t = v?.initializer ?? (v?.producer?.opType === 'Constant' ? v.producer.getTensor('value') : undefined);
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

function broadcast(shapes: Shape[]): Shape {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  return Array.from({ length: rank }, (_, i) => {
    const dims = shapes.map((s) => s![s!.length - rank + i] ?? 1);
    if (dims.some((d) => d === null)) return null;
    return Math.max(...(dims as number[]));
  });
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function outputShapes(node: Node, ins: Shape[]): Shape[] {
  const x = ins[0];
  const op = node.isOnnxDomain ? node.opType : '';
  if (SAME_SHAPE.has(op)) return [x];
  if (BROADCAST.has(op)) return [broadcast(ins)];
  switch (op) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      if (!x) return [];
      const w = node.inputs[1];
      // A weight computed by constant nodes (FTM's 1×1 form) has the shape inferred for it.
      const computed = ins[1]?.every((d): d is number => typeof d === 'number') ? ins[1] : undefined;
      const g = convGeometry(node, op === 'Conv' ? w?.initializer?.dims ?? computed ?? w?.shape?.map(Number) : undefined);
      const spatial = x.slice(2);
      const out = spatial.every((d) => d !== null) ? convOutputSize(g, spatial as number[]) : spatial.map(() => null);
      const channels = op === 'Conv' ? (w?.initializer?.dims[0] ?? ins[1]?.[0] ?? null) : x[1];
      return [[x[0], channels, ...out]];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [x && [x[0], x[1], ...x.slice(2).map(() => 1)]];
    case 'Flatten': {
      if (!x) return [];
      const axis = normAxis(node.getInt('axis', 1), x.length);
      const prod = (s: Shape) => (s!.some((d) => d === null) ? null : (s as number[]).reduce((a, b) => a * b, 1));
      return [[prod(x.slice(0, axis)), prod(x.slice(axis))]];
    }
    case 'Gemm': {
      const a = ins[0], b = ins[1];
      if (!a || !b) return [];
      const m = node.getInt('transA', 0) ? a[1] : a[0];
      const n = node.getInt('transB', 0) ? b[0] : b[1];
      return [[m, n]];
    }
    case 'MatMul': {
      const a = ins[0], b = ins[1];
      if (!a || !b || a.length < 2 || b.length < 2) return [];
      const batch = broadcast([a.slice(0, -2), b.slice(0, -2)]);
      return [batch && [...batch, a[a.length - 2], b[b.length - 1]]];
    }
    case 'Concat': {
      if (ins.some((s) => !s)) return [];
      const axis = normAxis(node.getInt('axis', 0), x!.length);
      const sum = ins.map((s) => s![axis]);
      const out = [...x!];
      out[axis] = sum.some((d) => d === null) ? null : (sum as number[]).reduce((a, b) => a + b, 0);
      return [out];
    }
    case 'Reshape': {
      const target = constInts(node.inputs[1]);
      if (!target || !x) return [];
      const known = x.every((d) => d !== null) ? (x as number[]).reduce((a, b) => a * b, 1) : null;
      const dims: (number | null)[] = target.map((d, i) => (d === 0 && !node.getInt('allowzero', 0) ? x[i] : d));
      const at = dims.indexOf(-1);
      if (at >= 0) {
        const rest = dims.filter((_, i) => i !== at);
        dims[at] = known !== null && rest.every((d) => d !== null) ? known / (rest as number[]).reduce((a, b) => a * b, 1) : null;
      }
      return [dims];
    }
    case 'Transpose': {
      if (!x) return [];
      const perm = node.getInts('perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p])];
    }
    case 'Unsqueeze': {
      const axes = node.getInts('axes') ?? constInts(node.inputs[1]);
      if (!x || !axes) return [];
      const rank = x.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const rest = [...x];
      return [Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!))];
    }
    case 'Squeeze': {
      const axes = node.getInts('axes') ?? constInts(node.inputs[1]);
      if (!x) return [];
      const set = new Set((axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length)));
      return [x.filter((_, i) => !set.has(i))];
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax': {
      if (!x) return [];
      const axes = (node.getInts('axes') ?? constInts(node.inputs[1]) ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
      const keep = node.getInt('keepdims', 1) === 1;
      return [keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i))];
    }
    case 'Gather': {
      const idx = node.inputs[1];
      const idxShape = ins[1] ?? (idx?.initializer ? [...idx.initializer.dims] : undefined);
      if (!x || !idxShape) return [];
      const axis = normAxis(node.getInt('axis', 0), x.length);
      return [[...x.slice(0, axis), ...idxShape, ...x.slice(axis + 1)]];
    }
    case 'Slice': {
      const [starts, ends, axesIn, stepsIn] = [1, 2, 3, 4].map((i) => constInts(node.inputs[i]));
      if (!x || !starts || !ends) return [];
      const axes = (axesIn ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.length));
      const out = [...x];
      axes.forEach((a, i) => {
        const d = x[a];
        const step = stepsIn?.[i] ?? 1;
        if (d === null || step !== 1) return void (out[a] = null);
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
        out[a] = Math.max(0, clamp(ends[i]) - clamp(starts[i]));
      });
      return [out];
    }
    case 'Shape':
      return [x && [x.length]];
    case 'Constant': {
      const t = node.getTensor('value');
      return [t ? [...t.dims] : undefined];
    }
    default:
      return [];
  }
}
