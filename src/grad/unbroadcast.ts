import { ftmError } from '../errors.js';
import type { Value } from '../ir/value.js';
import type { Emitter } from './emitter.js';
import type { StaticShape } from './types.js';

/**
 * The adjoint of numpy broadcasting: sums `grad` (of static shape `gradShape`) over the leading axes `x` lacks and the
 * axes where `x` has size 1, then reshapes to `x`'s runtime shape. An unknown dim of `x` (the batch) is taken as not
 * broadcast: in a CNN the batch dim is shared by both operands or absent from the parameter.
 */
export function unbroadcast(e: Emitter, grad: Value, gradShape: StaticShape, x: Value, xShape: StaticShape): Value {
  if (!gradShape || !xShape) throw ftmError('E_UNSUPPORTED', `cannot sum a broadcast gradient back to "${x.name}": a rank is unknown`);
  const lead = gradShape.length - xShape.length;
  const axes = gradShape.map((_, i) => i).filter((i) => i < lead || (xShape[i - lead] === 1 && gradShape[i] !== 1));
  if (axes.length === 0) return grad;
  const summed = e.reduceSum(grad, axes, true);
  return lead > 0 ? e.reshapeLike(summed, x) : summed;
}
