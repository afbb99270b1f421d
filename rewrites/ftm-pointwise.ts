import { defineRule, noMatch, type MatchBase, type Node, type Tensor, type Value } from '../src/index.js';

export interface FtmPointwiseMatch extends MatchBase {
  pw: Node;
  dw: Node;
  gather: Node;
  affine: Node;
  indices: number[];
}

/**
 * A 1×1 FTM in the gathered form, pw (C_in→m) → dw (1×1, per channel d_j) → Gather(j(c)) → affine (a_c, s_c), is one
 * 1×1 conv: W_c = a_c·d_j(c)·P_j(c), b_c = a_c·d_j(c)·p_j(c) + s_c. It is emitted as that Conv with W and b computed
 * from the same stored factors by constant nodes (Gather, Mul, Add), which onnxruntime folds when it loads the model:
 * the file keeps the FTM's parameters, the run is the original layer's single GEMM. Alone, each of the four nodes
 * writes its output once more than the dense conv, which made 1×1 FTMs slower than their layer (bench/latency.md).
 */
export const ftmPointwise = defineRule<FtmPointwiseMatch, Record<string, never>>({
  name: 'ftm-pointwise',
  meta: { description: 'Emit a 1×1 gathered FTM as one Conv whose weight is computed from its factors at load time', ops: ['Conv'], options: {} },

  match(affine) {
    const gather = producer(affine.inputs[0], 'Gather');
    const dw = gather && producer(gather.inputs[0], 'Conv');
    const pw = dw && producer(dw.inputs[0], 'Conv');
    if (!gather || !dw || !pw) return noMatch('not the end of a gathered FTM (pw Conv → dw Conv → Gather → this Conv)');
    const [aw, as] = [affine.inputs[1]?.initializer, affine.inputs[2]?.initializer];
    const [dww, pww, pwb] = [dw.inputs[1]?.initializer, pw.inputs[1]?.initializer, pw.inputs[2]?.initializer];
    const idx = gather.inputs[1]?.initializer;
    if (!aw || !as || !dww || !pww || !pwb || !idx || dw.inputs[2]) return noMatch('the FTM weights are not constant initializers (or the dw conv has a bias)');
    const channels = aw.dims[0];
    const m = dww.dims[0];
    if (!isPointwise(pww) || !isPointwise(dww) || !isPointwise(aw)) return noMatch('not a 1×1 FTM');
    if (affine.getInt('group', 1) !== channels || dw.getInt('group', 1) !== m || pw.getInt('group', 1) !== 1 || pww.dims[0] !== m) return noMatch('the convs are not pointwise → depthwise → depthwise');
    if (gather.getInt('axis', 0) !== 1 || idx.dims.length !== 1 || idx.dims[0] !== channels) return noMatch('not a channel gather onto the affine channels');
    if (!unstrided(pw) || !unstrided(affine) || !unpadded(dw)) return noMatch('a stride or padding outside the depthwise conv, or padding on it');
    const indices = Array.from(idx.data as BigInt64Array, Number);
    if (indices.some((j) => j < 0 || j >= m)) return noMatch('the gather reads channels outside the depthwise output');
    return { nodes: [pw, dw, gather, affine], constants: [pw.inputs[1]!, pw.inputs[2]!, dw.inputs[1]!, gather.inputs[1]!, affine.inputs[1]!, affine.inputs[2]!], pw, dw, gather, affine, indices };
  },

  rewrite(match, b) {
    const [m, cin] = match.pw.inputs[1]!.initializer!.dims;
    const channels = match.indices.length;
    const scale = b.Mul(b.Gather(b.param('dw.weight', [m, 1, 1, 1]), match.indices, 0, 'dw/rows'), b.param('affine.scale', [channels, 1, 1, 1]), 'scale');
    const weight = b.Mul(b.Gather(b.param('pw.weight', [m, cin, 1, 1]), match.indices, 0, 'pw/rows'), scale, 'weight');
    const shift = b.Mul(b.Gather(b.param('pw.bias', [m]), match.indices, 0, 'pw/bias_rows'), b.Reshape(scale, [channels], 'scale/flat'), 'bias/scaled');
    const bias = b.Add(shift, b.param('affine.shift', [channels]), 'bias');
    // The depthwise conv's spatial attributes (its stride) on the one conv: a 1×1 kernel without padding samples x where it sampled pw(x).
    const conv = b.copy(match.dw, [match.pw.inputs[0]!, weight, bias], 'conv')[0];
    const created = b.nodes[b.nodes.length - 1];
    created.attributes = created.attributes.filter((a) => a.name !== 'group');
    return { replace: [[match.affine.outputs[0]!, conv]] };
  },

  init(match, params) {
    const copy = (role: string, from: Value) => (params.get(role)!.data as Float32Array).set(from.initializer!.toFloat32());
    copy('pw.weight', match.pw.inputs[1]!);
    copy('pw.bias', match.pw.inputs[2]!);
    copy('dw.weight', match.dw.inputs[1]!);
    copy('affine.scale', match.affine.inputs[1]!);
    copy('affine.shift', match.affine.inputs[2]!);
  },
});

/** The node of `op` that writes `v`, when `v` has no other reader. */
function producer(v: Value | null | undefined, op: string): Node | undefined {
  const node = v?.producer;
  return node && node.opType === op && node.isOnnxDomain && v.uses.length === 1 ? node : undefined;
}

const isPointwise = (w: Tensor) => w.dims.length === 4 && w.dims[2] === 1 && w.dims[3] === 1;
const ones = (xs: number[] | undefined) => !xs || xs.every((x) => x === 1);
const zeros = (xs: number[] | undefined) => !xs || xs.every((x) => x === 0);
const unpadded = (n: Node) => zeros(n.getInts('pads')) && ['NOTSET', 'VALID'].includes(n.getString('auto_pad', 'NOTSET'));
const unstrided = (n: Node) => ones(n.getInts('strides')) && unpadded(n);
