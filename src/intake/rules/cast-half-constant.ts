import { DataType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { defineRule, noMatch, type MatchBase } from '../../rewrite/rule.js';

interface CastMatch extends MatchBase {
  cast: Node;
  half: Tensor;
}

/**
 * Cast(float16 constant) to float32  ⇒  the float32 constant. Exporters that store weights in half precision compute in
 * float32 through such Casts; every float16 value is exactly a float32, so the model computes the same.
 */
export const castHalfConstant = defineRule<CastMatch, Record<string, never>>({
  name: 'cast-half-constant',
  meta: { description: 'Replace a Cast of a float16 constant to float32 by the float32 constant', ops: ['Cast'], options: {} },

  match(cast, { graph }) {
    const [x] = cast.inputs;
    const y = cast.outputs[0];
    const half = x?.isConstant ? x.initializer : undefined;
    if (!half || half.dataType !== DataType.FLOAT16) return noMatch('the input is not a float16 constant');
    if (cast.getInt('to', 0) !== DataType.FLOAT) return noMatch('the Cast is not to float32');
    if (!y || graph.outputs.includes(y)) return noMatch('the Cast output is a graph output');
    return { nodes: [cast], constants: [], cast, half };
  },

  rewrite(m, b) {
    const data = Float32Array.from(m.half.data as Uint16Array, halfToFloat);
    return { replace: [[m.cast.outputs[0]!, b.constant('value', new Tensor({ dataType: DataType.FLOAT, dims: m.half.dims, data }))]] };
  },
});

/** An IEEE 754 binary16 bit pattern as a number (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
