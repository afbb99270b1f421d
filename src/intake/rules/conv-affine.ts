import { DataType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { defineRule, noMatch, type MatchBase, type NoMatch, type Rule } from '../../rewrite/rule.js';

/** A per-output-channel map y ↦ scale·y + shift, in float64. */
export interface ChannelAffine {
  scale: Float64Array;
  shift: Float64Array;
}

export interface ConvAffineMatch extends MatchBase {
  conv: Node;
  /** The node after the conv whose output the folded conv replaces. */
  reader: Node;
  weight: Tensor;
  bias?: Tensor;
  affine: ChannelAffine;
}

/** Reads the affine map a node applies to the conv output (of `rank` and `channels`) at its input slot `index`, or
 * says why it is not one. */
export type ReadAffine = (reader: Node, index: number, channels: number, rank: number) => ChannelAffine | NoMatch;

/**
 * A rule folding into a Conv the per-channel affine map applied by its only reader (BatchNormalization, Mul, Add):
 * W'[c] = scale[c]·W[c], b'[c] = scale[c]·b[c] + shift[c], computed in float64. The folded conv replaces the reader's
 * output; the conv's own output must have no other reader, so nothing else sees the change.
 */
export function convAffineRule(name: string, description: string, readers: string[], read: ReadAffine): Rule<ConvAffineMatch, Record<string, never>> {
  return defineRule<ConvAffineMatch, Record<string, never>>({
    name,
    meta: { description, ops: ['Conv'], options: {} },

    match(conv, { graph }) {
      const [x, w, b] = conv.inputs;
      const y = conv.outputs[0];
      const weight = w?.initializer;
      if (!x || !w?.isConstant || !weight || weight.dataType !== DataType.FLOAT || weight.dims.length < 3) return noMatch('the weight is not a float32 constant');
      const channels = weight.dims[0];
      if (b && (!b.isConstant || b.initializer!.dataType !== DataType.FLOAT || b.initializer!.size !== channels)) return noMatch('the bias is not a float32 constant per channel');
      if (!y || y.uses.length !== 1 || graph.outputs.includes(y)) return noMatch('the output has other readers than one node');
      const { node: reader, index } = y.uses[0];
      if (!reader.isOnnxDomain || !readers.includes(reader.opType)) return noMatch(`the output is not read by ${readers.join('/')}`);
      const affine = read(reader, index, channels, weight.dims.length);
      if ('noMatch' in affine) return affine;
      const constants: Value[] = b ? [w, b] : [w];
      return { nodes: [conv, reader], constants, conv, reader, weight, bias: b?.initializer, affine };
    },

    rewrite(m, b) {
      const weight = b.param('weight', m.weight.dims);
      const bias = b.param('bias', [m.weight.dims[0]]);
      return { replace: [[m.reader.outputs[0]!, b.copy(m.conv, [m.conv.inputs[0], weight, bias], 'conv')[0]]] };
    },

    init(m, params) {
      const w = m.weight.data as Float32Array;
      const bias = m.bias?.data as Float32Array | undefined;
      const outW = params.get('weight')!.data as Float32Array;
      const outB = params.get('bias')!.data as Float32Array;
      const { scale, shift } = m.affine;
      const per = w.length / scale.length;
      for (let c = 0; c < scale.length; c++) {
        for (let i = c * per; i < (c + 1) * per; i++) outW[i] = w[i] * scale[c];
        outB[c] = (bias?.[c] ?? 0) * scale[c] + shift[c];
      }
    },
  });
}

/**
 * The values of a float32 constant that broadcasts against a conv output [N, C, ...] along C only (a scalar, [C,1,1],
 * [1,C,1,1], ...), one per channel; or why not. `rank` is the conv output's rank.
 */
export function perChannel(v: Value | null, channels: number, rank: number): Float64Array | NoMatch {
  const t = v?.isConstant ? v.initializer : undefined;
  if (!t || t.dataType !== DataType.FLOAT) return noMatch('the other operand is not a float32 constant');
  const dims = t.dims;
  const ok = dims.length <= rank && dims.every((d, k) => d === 1 || (rank - dims.length + k === 1 && d === channels));
  if (!ok) return noMatch(`the other operand [${dims.join(', ')}] is not per channel (${channels} channels)`);
  const data = t.data as Float32Array;
  return Float64Array.from({ length: channels }, (_, c) => data[data.length === 1 ? 0 : c]);
}

/** The values of a float32 constant vector of exactly `channels` values (BatchNormalization's parameters), or why not. */
export function channelVector(v: Value | null, channels: number): Float64Array | NoMatch {
  const t = v?.isConstant ? v.initializer : undefined;
  if (!t || t.dataType !== DataType.FLOAT || t.dims.length !== 1 || t.size !== channels) return noMatch(`not a float32 constant of ${channels} values`);
  return Float64Array.from(t.data as Float32Array);
}
