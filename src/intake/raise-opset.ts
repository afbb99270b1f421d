import type { Graph } from '../ir/graph.js';
import { onnxOpset, type Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../ir/dtype.js';

/** The default-domain opset the built-in rules need at most (FTM emits Slice with inputs). */
export const INTAKE_OPSET = 11;

/**
 * Operators whose meaning is the same at every opset from 7 to 11 for the models they accept (changes in between only
 * widened types or allowed negative axes), so a model using them may import opset 11 unchanged.
 */
const UNCHANGED = new Set([
  'Abs', 'Add', 'And', 'ArgMax', 'ArgMin', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Concat', 'Constant',
  'ConstantOfShape', 'Conv', 'ConvTranspose', 'Div', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor',
  'Gather', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'HardSigmoid', 'Identity', 'InstanceNormalization',
  'LeakyRelu', 'Less', 'Log', 'LogSoftmax', 'LRN', 'MatMul', 'Max', 'MaxPool', 'Mean', 'Min', 'Mul', 'Neg', 'Not', 'Or',
  'Pow', 'PRelu', 'Reciprocal', 'ReduceL2', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceSum', 'Relu', 'Reshape',
  'Selu', 'Shape', 'Sigmoid', 'Sign', 'Softmax', 'Softplus', 'Softsign', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Tanh',
  'Tile', 'Transpose', 'Unsqueeze', 'Where',
]);

/** Operators whose attributes became inputs by opset 11: the opset of the new form, and how to rewrite a node of the
 * older form in place. */
const CONVERT: Record<string, { since: number; convert: (node: Node, graph: Graph) => void }> = {
  // Clip-6 → Clip-11: min and max become optional scalar inputs.
  Clip: { since: 11, convert: (node, graph) => {
    const bound = (name: string) => {
      const a = node.attr(name);
      return a ? graph.addInitializer(`${node.name ?? 'clip'}/${name}`, Tensor.float32([], [a.value as number])) : null;
    };
    const [min, max] = [bound('min'), bound('max')];
    node.attributes = node.attributes.filter((a) => a.name !== 'min' && a.name !== 'max');
    node.setInput(1, min);
    node.setInput(2, max);
  } },
  // Pad-2 → Pad-11: pads and the constant value become inputs.
  Pad: { since: 11, convert: (node, graph) => {
    const pads = node.getInts('pads') ?? [];
    const value = node.attr('value');
    node.attributes = node.attributes.filter((a) => a.name !== 'pads' && a.name !== 'value');
    node.setInput(1, graph.addInitializer(`${node.name ?? 'pad'}/pads`, Tensor.int64([pads.length], pads)));
    if (value) node.setInput(2, graph.addInitializer(`${node.name ?? 'pad'}/value`, Tensor.float32([], [value.value as number])));
  } },
  // Slice-1 → Slice-10: starts, ends and axes become int64 inputs.
  Slice: { since: 10, convert: (node, graph) => {
    const ints = (name: string) => {
      const v = node.getInts(name);
      return v ? graph.addInitializer(`${node.name ?? 'slice'}/${name}`, Tensor.int64([v.length], v)) : null;
    };
    const [starts, ends, axes] = [ints('starts'), ints('ends'), ints('axes')];
    node.attributes = node.attributes.filter((a) => !['starts', 'ends', 'axes'].includes(a.name));
    node.setInput(1, starts);
    node.setInput(2, ends);
    if (axes) node.setInput(3, axes);
  } },
};

/**
 * Raises the default-domain opset of a model below INTAKE_OPSET to it, converting Clip, Pad and Slice to their newer form,
 * when every operator of the model (subgraphs included) keeps its meaning; otherwise leaves the model as it is (the
 * rules that need the newer opset then say so). paddle2onnx writes opset 9. Returns the nodes converted, or undefined
 * when the opset was not raised.
 */
export function raiseOpset(model: Model): number | undefined {
  const opset = onnxOpset(model);
  if (opset === undefined || opset >= INTAKE_OPSET || opset < 7) return undefined;
  const nodes = [...model.graph.allNodes()];
  if (!nodes.every((n) => !n.isOnnxDomain || UNCHANGED.has(n.opType) || (n.opType in CONVERT && convertible(n)))) return undefined;
  let converted = 0;
  for (const node of nodes) {
    const step = node.isOnnxDomain ? CONVERT[node.opType] : undefined;
    if (!step || opset >= step.since) continue;
    step.convert(node, node.graph ?? model.graph);
    converted++;
  }
  for (const o of model.opsetImport) if (!o.domain || o.domain === 'ai.onnx') o.version = INTAKE_OPSET;
  return converted;
}

/** Clip's bounds and Pad's value become float32 scalars: a node of another declared type keeps the old opset. */
function convertible(node: Node): boolean {
  if (node.opType !== 'Clip' && node.opType !== 'Pad') return true;
  const t = node.inputs[0]?.elemType;
  return t === undefined || t === DataType.FLOAT;
}
