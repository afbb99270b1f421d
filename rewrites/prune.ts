import { convGeometry, DataType, defineRule, dtypeName, isNoMatch, noMatch, refitConv, Tensor, type AttrInit, type ConvGeometry, type FitPlan, type FitSolveOptions, type MatchBase, type Node, type PatchStats, type Value } from '../src/index.js';
import { attrInits } from './prune-attrs.js';
import { followChannels, type ChannelSlice, type PrunePath } from './prune-path.js';

export interface PruneOptions {
  ratio: number;
}

export interface PruneMatch extends MatchBase {
  conv: Node;
  /** The output channels kept, ascending. */
  keep: number[];
  path: PrunePath;
  /** Every constant sliced to `keep`: the conv's weight and bias, then those of the path. */
  slices: ChannelSlice[];
  /** Each Conv consumer with its bias (undefined: none): the bias becomes a param, so that fitting can set it. */
  biases: Map<Node, Value | undefined>;
  /** The attributes of each of `nodes`, for their copies. */
  attrs: Record<string, AttrInit>[];
}

/**
 * Removes a Conv's output channels of least L1 norm and the matching input channels of its consumers; the consumer
 * convs can then be refitted to data (least squares on the kept channels). Maths: prune.md.
 */
export const prune = defineRule<PruneMatch, PruneOptions>({
  name: 'prune',
  meta: {
    description: 'Remove the output channels of a Conv with the smallest kernel L1 norms, and the matching inputs of its consumers',
    ops: ['Conv'],
    knob: { option: 'ratio', values: [0.5, 0.35, 0.25, 0.15, 0.1] },
    options: {
      ratio: { type: 'number', default: 0.5, exclusiveMin: 0, max: 1, description: 'fraction of output channels kept, in (0, 1]: keep = round(ratio·C_out), at least 1' },
    },
  },

  match(conv, { graph, options }) {
    const [x, w, b] = conv.inputs;
    const weight = w?.initializer;
    if (!x || !w || !weight) return noMatch('the weight is not a constant initializer');
    if (weight.dims.length < 3) return noMatch(`expected a convolution weight [C_out, C_in, k...], found dims [${weight.dims.join(', ')}]`);
    const group = conv.getInt('group', 1);
    if (group !== 1) return noMatch(group === weight.dims[0] && weight.dims[1] === 1 ? 'depthwise convolution' : `grouped convolution (group=${group})`);
    if (b && !b.initializer) return noMatch('the bias is not a constant initializer');
    const path = followChannels(conv, graph);
    if (isNoMatch(path)) return path;
    const own: ChannelSlice[] = [{ node: conv, input: 1, role: 'conv.weight', value: w, axis: 0 }];
    if (b) own.push({ node: conv, input: 2, role: 'conv.bias', value: b, axis: 0 });
    const slices = [...own, ...path.slices];
    const odd = slices.find((s) => s.value.initializer!.dataType !== DataType.FLOAT);
    if (odd) return noMatch(`"${odd.value.name}" is ${dtypeName(odd.value.initializer!.dataType)}; only float32 constants are sliced`);
    const biases = new Map(path.consumers.filter(refittable).map((n) => [n, n.inputs[2] ?? undefined]));
    for (const [node, bias] of biases) {
      if (node.opType === 'Conv' && bias && bias.initializer?.dataType !== DataType.FLOAT) return noMatch(`output feeds ${node.label} whose bias is not a float32 constant initializer`);
    }
    const nodes = [conv, ...path.ops, ...path.consumers];
    const attrs: Record<string, AttrInit>[] = [];
    for (const node of nodes) {
      const a = attrInits(node);
      if (isNoMatch(a)) return a;
      attrs.push(a);
    }
    const keep = strongestChannels(weight, Math.max(1, Math.round(options.ratio * weight.dims[0])));
    for (const dw of path.depthwise) attrs[nodes.indexOf(dw)] = { ...attrs[nodes.indexOf(dw)], group: keep.length };
    const constants = [...new Set([...slices.map((s) => s.value), ...[...biases.values()].filter((v) => v !== undefined)])];
    return { nodes, constants, conv, keep, path, slices, biases, attrs };
  },

  rewrite(match, b) {
    const renamed = new Map<Value, Value>();
    const copy = (node: Node, name: string): Value => {
      const inputs = node.inputs.map((v, i) => {
        const s = match.slices.find((s) => s.node === node && s.input === i);
        if (s) return b.param(s.role, s.value.initializer!.dims.map((d, axis) => (axis === s.axis ? match.keep.length : d)));
        return v && (renamed.get(v) ?? v);
      });
      if (match.biases.has(node)) inputs[2] = b.param(`consumer${match.path.consumers.indexOf(node)}.bias`, [outputsOf(node)]);
      const out = b.op(node.opType, inputs, match.attrs[match.nodes.indexOf(node)], name);
      renamed.set(node.outputs[0]!, out);
      return out;
    };
    copy(match.conv, 'conv');
    match.path.ops.forEach((n, i) => copy(n, `chan${i}/${n.opType}`));
    const replace = match.path.consumers.map((n, i): [Value, Value] => [n.outputs[0]!, copy(n, `consumer${i}/${n.opType}`)]);
    // One fit per 2-D Conv consumer and plain Gemm: its kept inputs (and bias) refitted to its original output.
    const channels = match.conv.inputs[1]!.initializer!.dims[0];
    const fit = match.path.consumers.flatMap((n, i): FitPlan[] => {
      const dims = n.inputs[1]!.initializer!.dims;
      if (!match.biases.has(n) || (n.opType === 'Conv' && dims.length !== 4)) return [];
      const weight = `consumer${i}.weight`, bias = `consumer${i}.bias`;
      const inputMajor = n.opType === 'Gemm' && n.getInt('transB', 0) !== 1;
      return [{
        input: renamed.get(n.inputs[0]!)!,
        target: n.outputs[0]!.name,
        patches: { cin: match.keep.length, cout: outputsOf(n), geometry: n.opType === 'Conv' ? convGeometry(n, dims) : FEATURES },
        teacherInput: { name: n.inputs[0]!.name, channels: { of: channels, kept: match.keep } },
        solve: (stats, params, options) => (inputMajor ? refitInputMajor : refitConv)(stats, params.get(weight)!, params.get(bias)!, options),
      }];
    });
    return { replace, fit };
  },

  init(match, params) {
    for (const s of match.slices) (params.get(s.role)!.data as Float32Array).set(sliceAxis(s.value.initializer!, s.axis, match.keep));
    match.path.consumers.forEach((n, i) => {
      const bias = match.biases.get(n);
      if (bias) (params.get(`consumer${i}.bias`)!.data as Float32Array).set(bias.initializer!.toFloat32());
    });
  },
});

/** Consumers whose weights (and bias, then a param) can be refitted to data: Convs, and Gemms computing
 * x·B + C plainly (alpha = beta = 1) with a float32 bias of C_out entries or none. */
function refittable(n: Node): boolean {
  if (n.opType === 'Conv') return true;
  if (n.opType !== 'Gemm' || n.getFloat('alpha', 1) !== 1 || n.getFloat('beta', 1) !== 1) return false;
  const bias = n.inputs[2];
  return !bias || (bias.initializer?.dataType === DataType.FLOAT && bias.initializer.size === outputsOf(n));
}

/** A consumer's output channels (Conv) or features (Gemm: B is [C_in, C_out], or [C_out, C_in] with transB). */
function outputsOf(n: Node): number {
  const dims = n.inputs[1]!.initializer!.dims;
  return n.opType === 'Gemm' && n.getInt('transB', 0) !== 1 ? dims[1] : dims[0];
}

/** A Gemm's features are a 1×1 map: its fit collects the statistics of a pointwise conv. */
const FEATURES: ConvGeometry = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: 'NOTSET', group: 1, ceilMode: false };

/** refitConv for a weight stored input-major ([C_in, C_out], a Gemm without transB): refitConv reads output-major. */
async function refitInputMajor(stats: PatchStats, weight: Tensor, bias: Tensor, options: FitSolveOptions) {
  const [cin, cout] = weight.dims;
  const outputMajor = Tensor.float32([cout, cin], transpose(weight.toFloat32(), cin, cout));
  const result = await refitConv(stats, outputMajor, bias, options);
  (weight.data as Float32Array).set(transpose(outputMajor.data as Float32Array, cout, cin));
  return result;
}

/** A rows × cols row-major matrix, transposed. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** The `keep` output channels with the largest L1 kernel norms (ties: the lower index), in ascending order. */
export function strongestChannels(weight: Tensor, keep: number): number[] {
  const w = weight.toFloat32();
  const cout = weight.dims[0];
  const size = w.length / cout;
  const norms = Array.from({ length: cout }, (_, c) => w.subarray(c * size, (c + 1) * size).reduce((a, v) => a + Math.abs(v), 0));
  const ranked = norms.map((n, c) => [n, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return ranked.slice(0, keep).map(([, c]) => c).sort((a, b) => a - b);
}

/** The entries of `t` whose index along `axis` is in `keep`, row-major. */
export function sliceAxis(t: Tensor, axis: number, keep: number[]): Float32Array {
  const data = t.toFloat32();
  const outer = t.dims.slice(0, axis).reduce((a, d) => a * d, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, d) => a * d, 1);
  const n = t.dims[axis];
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) {
    keep.forEach((c, j) => out.set(data.subarray((o * n + c) * inner, (o * n + c + 1) * inner), (o * keep.length + j) * inner));
  }
  return out;
}
