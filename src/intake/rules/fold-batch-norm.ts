import { noMatch } from '../../rewrite/rule.js';
import { channelVector, convAffineRule } from './conv-affine.js';

/**
 * Conv → BatchNormalization in inference form  ⇒  one Conv. BN computes scale·(y − mean)/√(var + ε) + B per channel
 * from constants; a BN that uses batch statistics (training_mode, is_test = 0, spatial = 0) or whose parameters are
 * computed is left as it is.
 */
export const foldBatchNorm = convAffineRule(
  'fold-batch-norm',
  'Fold an inference-mode BatchNormalization into the Conv before it',
  ['BatchNormalization'],
  (bn, index, channels) => {
    if (index !== 0) return noMatch('the conv output is not the BatchNormalization input X');
    if (bn.getInt('training_mode', 0) !== 0 || bn.getInt('is_test', 1) !== 1 || bn.getInt('spatial', 1) !== 1) return noMatch('the BatchNormalization uses batch statistics');
    if (bn.outputs.slice(1).some((v) => v && v.uses.length)) return noMatch('the BatchNormalization running statistics are read');
    const params = bn.inputs.slice(1, 5).map((v) => channelVector(v, channels));
    const bad = params.find((p) => 'noMatch' in p);
    if (bad) return noMatch(`a BatchNormalization parameter is not a float32 constant of ${channels} values`);
    const [gamma, beta, mean, variance] = params as Float64Array[];
    const eps = bn.getFloat('epsilon', 1e-5);
    const scale = gamma.map((g, c) => g / Math.sqrt(variance[c] + eps));
    return { scale, shift: beta.map((b, c) => b - mean[c] * scale[c]) };
  },
);
