import type { Node } from '../../ir/node.js';
import type { GradRule } from '../types.js';
import { averagePool } from './average-pool.js';
import { batchNormalization } from './batch-norm.js';
import { clip } from './clip.js';
import { concat } from './concat.js';
import { conv } from './conv.js';
import { add, div, mul, sub } from './elementwise.js';
import { gather } from './gather.js';
import { gemm } from './gemm.js';
import { globalAveragePool } from './global-average-pool.js';
import { hardSigmoid } from './hard-sigmoid.js';
import { hardSwish } from './hard-swish.js';
import { identity } from './identity.js';
import { leakyRelu } from './leaky-relu.js';
import { matmul } from './matmul.js';
import { maxPool } from './max-pool.js';
import { noGradient } from './no-gradient.js';
import { reduceMean, reduceSum } from './reduce.js';
import { relu } from './relu.js';
import { reshape } from './reshape.js';
import { resize } from './resize.js';
import { sigmoid } from './sigmoid.js';
import { slice } from './slice.js';
import { logSoftmax, softmax } from './softmax.js';
import { split } from './split.js';
import { tanh } from './tanh.js';
import { transpose } from './transpose.js';

/** The gradient rules by ONNX (default domain) operator type. */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = new Map<string, GradRule>([
  ['Conv', conv],
  ['Gemm', gemm],
  ['MatMul', matmul],
  ['Add', add],
  ['Sub', sub],
  ['Mul', mul],
  ['Div', div],
  ['Relu', relu],
  ['LeakyRelu', leakyRelu],
  ['Clip', clip],
  ['Sigmoid', sigmoid],
  ['HardSigmoid', hardSigmoid],
  ['HardSwish', hardSwish],
  ['Tanh', tanh],
  ['Concat', concat],
  ['Split', split],
  ['Slice', slice],
  ['Gather', gather],
  ['Transpose', transpose],
  ['Reshape', reshape],
  ['Flatten', reshape],
  ['Squeeze', reshape],
  ['Unsqueeze', reshape],
  ['Identity', identity],
  ['Dropout', identity],
  ['GlobalAveragePool', globalAveragePool],
  ['AveragePool', averagePool],
  ['MaxPool', maxPool],
  ['ReduceMean', reduceMean],
  ['ReduceSum', reduceSum],
  ['BatchNormalization', batchNormalization],
  ['Softmax', softmax],
  ['LogSoftmax', logSoftmax],
  ['Resize', resize],
  ...['Shape', 'Size', 'ConstantOfShape', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'IsNaN', 'IsInf'].map(
    (op): [string, GradRule] => [op, noGradient],
  ),
]);

/** The rule for a node, if its operator has one (custom domains never do). */
export function ruleFor(node: Node): GradRule | undefined {
  return node.isOnnxDomain ? GRAD_RULES.get(node.opType) : undefined;
}
