import { convAffineRule, perChannel } from './conv-affine.js';

/** Conv → Mul or Add by a per-channel (or scalar) float constant  ⇒  one Conv (paddle2onnx's learnable affine blocks). */
export const foldMulAdd = convAffineRule(
  'fold-mul-add',
  'Fold a Mul or Add by a per-channel constant into the Conv before it',
  ['Mul', 'Add'],
  (reader, index, channels, rank) => {
    const values = perChannel(reader.inputs[1 - index], channels, rank);
    if ('noMatch' in values) return values;
    return reader.opType === 'Mul' ? { scale: values, shift: new Float64Array(channels) } : { scale: new Float64Array(channels).fill(1), shift: values };
  },
);
