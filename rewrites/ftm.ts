import { convGeometry, DataType, defineRule, dtypeName, noMatch, type Builder, type ConvGeometry, type FitPlan, type MatchBase, type Node, type Tensor, type Value } from '../src/index.js';
import { foldGather } from './fold-gather.js';
import { fitFtmLayer } from './ftm-fit.js';
import { initFtmDataFree } from './ftm-init.js';
import { channelIndices, ftmLayout, type FtmLayout } from './ftm-layout.js';
import { readFtmParams, setFtmParams } from './ftm-params.js';
import { ftmPointwise } from './ftm-pointwise.js';
import { ftmStats } from './ftm-stats.js';

export { readFtmParams, setFtmParams };

export interface FtmOptions {
  s: number;
  knf: number;
  form: string;
  includeFirst: boolean;
}

export interface FtmMatch extends MatchBase {
  conv: Node;
  x: Value;
  y: Value;
  weight: Tensor;
  bias?: Tensor;
  layout: FtmLayout;
}

/** Conv(C_in→C, k×k) → the Feature Transform Module (Li et al. 2024). The maths: ftm.md beside this file. */
export const ftm = defineRule<FtmMatch, FtmOptions>({
  name: 'ftm',
  meta: {
    description: 'Replace a k×k Conv by pointwise → depthwise prime maps and S−1 gated neighbor-fusion copies',
    ops: ['Conv'],
    minOpset: 11,
    knob: { option: 's', values: [2, 3, 4, 6, 8] },
    finalize: [foldGather, ftmPointwise],
    stats: ftmStats,
    options: {
      s: { type: 'number', default: 2, integer: true, min: 2, description: 'ratio S: one prime map per S output channels' },
      knf: { type: 'number', default: 1, odd: true, min: 1, description: 'neighbor-fusion conv1d kernel size (odd)' },
      form: {
        type: 'string',
        default: 'gathered',
        choices: ['gathered', 'folded', 'module'],
        description: '"gathered" (constant gates; the prime maps gathered into the original channels, then a per-channel affine as a depthwise 1×1 Conv: the fastest on onnxruntime), "folded" (the same function as copies → Mul → Add → reorder) or "module" (the paper\'s graph, trainable gates)',
      },
      includeFirst: { type: 'boolean', default: false, description: 'also rewrite convolutions that read a graph input' },
    },
  },

  match(conv, { options, stats }) {
    const [x, w, b] = conv.inputs;
    const weight = w?.initializer;
    if (!x || !w || !weight) return noMatch('the weight is not a constant initializer');
    if (weight.dims.length !== 4) return noMatch(`expected a 2-D convolution (4-D weight), found a ${weight.dims.length}-D weight`);
    if (weight.dataType !== DataType.FLOAT) return noMatch(`the weight is ${dtypeName(weight.dataType)}; only float32 convolutions are rewritten`);
    const group = conv.getInt('group', 1);
    if (group !== 1) return noMatch(group === weight.dims[0] && weight.dims[1] === 1 ? 'depthwise convolution' : `grouped convolution (group=${group})`);
    if (b && !b.initializer) return noMatch('the bias is not a constant initializer');
    if (b?.initializer && b.initializer.dataType !== DataType.FLOAT) return noMatch(`the bias is ${dtypeName(b.initializer.dataType)}; only float32 convolutions are rewritten`);
    if (!options.includeFirst && x.isGraphInput) return noMatch('first convolution (reads a graph input); set includeFirst to rewrite it');
    const layout = ftmLayout(weight.dims[0], options.s, stats?.groups, options.form === 'gathered' ? 'channels' : 'copies');
    if ('noMatch' in layout) return layout;
    return { nodes: [conv], constants: b ? [w, b] : [w], conv, x, y: conv.outputs[0]!, weight, bias: b?.initializer, layout };
  },

  rewrite(match, b, { options }) {
    const { m, s, channels } = match.layout;
    const [, cin, kh, kw] = match.weight.dims;
    const geo = convGeometry(match.conv, match.weight.dims);
    const spatial = { kernel_shape: [kh, kw], strides: geo.strides, dilations: geo.dilations, ...(geo.pads ? { pads: geo.pads } : { auto_pad: geo.autoPad }) };
    const h = b.Conv(match.x, b.param('pw.weight', [m, cin, 1, 1]), b.param('pw.bias', [m]), {}, 'pw');
    const u = b.Conv(h, b.param('dw.weight', [m, 1, kh, kw]), null, { group: m, ...spatial }, 'dw');
    if (options.form === 'gathered') {
      const copies = b.Gather(u, channelIndices(match.layout, (j) => j), 1, 'copies');
      const affine = b.Conv(copies, b.param('affine.scale', [channels, 1, 1, 1]), b.param('affine.shift', [channels]), { group: channels }, 'affine');
      return { replace: [[match.y, affine]], fit: fitPlan(match, geo) };
    }
    if (options.form === 'folded') {
      const copies = b.Concat(Array<Value>(s).fill(u), 1, 'copies');
      const affine = b.Add(b.Mul(copies, b.param('affine.scale', [1, m * s, 1, 1]), 'affine/scale'), b.param('affine.shift', [1, m * s, 1, 1]), 'affine/shift');
      return { replace: [[match.y, reorder(b, affine, channelIndices(match.layout, (j, t) => t * m + j), m * s)]], fit: fitPlan(match, geo) };
    }
    let out = u;
    for (let t = 1, c = m; t < s; t++, c *= 2) out = neighborFusion(b, out, c, t, options.knf);
    out = reorder(b, out, channelIndices(match.layout, (j, t) => t * m + j), m * 2 ** (s - 1));
    out = b.Mul(out, b.param('affine.scale', [1, channels, 1, 1]), 'affine/scale');
    return { replace: [[match.y, b.Add(out, b.param('affine.shift', [1, channels, 1, 1]), 'affine/shift')]], fit: fitPlan(match, geo) };
  },

  init(match, params, { options, stats }) {
    const [, cin, kh, kw] = match.weight.dims;
    const weights = initFtmDataFree(match.weight.toFloat32(), match.bias?.toFloat32(), cin, kh * kw, match.layout, options.knf, stats);
    setFtmParams(params, weights, match.layout);
  },
});

/**
 * Fitting the module to the original conv's output (before its activation), on the input the module reads: the current
 * params (data-free init, or an earlier fit) start an alternating least-squares solve (ftm-fit.ts; maths: ftm.md) whose
 * result is written back in the proposal's form.
 */
function fitPlan(match: FtmMatch, geometry: ConvGeometry): FitPlan {
  const [cout, cin, kh, kw] = match.weight.dims;
  const k2 = kh * kw;
  return {
    input: match.x,
    target: match.y.name,
    patches: { cin, cout, geometry },
    async solve(stats, params, options) {
      const fit = await fitFtmLayer(stats, readFtmParams(params, match.layout, cin, k2, match.conv.label), match.layout, k2, cin, options);
      setFtmParams(params, fit.weights, match.layout);
      return { errorBefore: fit.errorBefore, errorAfter: fit.errorAfter };
    },
  };
}

/** out ⊕ out·σ(conv1d_channels(GAP(out))): the paper's neighbor fusion; for k_nf = 1 the conv1d is one scalar Mul. */
function neighborFusion(b: Builder, out: Value, channels: number, t: number, knf: number): Value {
  const z = b.GlobalAveragePool(out, `nf${t}/gap`);
  let y: Value;
  if (knf === 1) {
    y = b.Mul(z, b.param(`nf${t}.weight`, [1]), `nf${t}/conv1d`);
  } else {
    const seq = b.Reshape(z, [-1, 1, channels], `nf${t}/to_seq`);
    const pad = (knf - 1) / 2;
    const conv = b.Conv(seq, b.param(`nf${t}.weight`, [1, 1, knf]), null, { pads: [pad, pad] }, `nf${t}/conv1d`);
    y = b.Reshape(conv, [-1, channels, 1, 1], `nf${t}/to_map`);
  }
  return b.Concat([out, b.Mul(out, b.Sigmoid(y, `nf${t}/sigmoid`), `nf${t}/gate`)], 1, `nf${t}/concat`);
}

/** Puts channels back in the original order: nothing, a Slice (a prefix in order), or one Gather. */
function reorder(b: Builder, x: Value, indices: number[], available: number): Value {
  const inOrder = indices.every((k, c) => k === c);
  if (inOrder) return indices.length === available ? x : b.Slice(x, 1, 0, indices.length, 'slice');
  return b.Gather(x, indices, 1, 'order');
}
