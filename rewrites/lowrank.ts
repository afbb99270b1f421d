import { convGeometry, DataType, defineRule, dtypeName, noMatch, type MatchBase, type NoMatch, type Node, type Tensor, type Value } from '../src/index.js';
import { fitLowrank } from './lowrank-fit.js';
import { kernelSvd } from './lowrank-svd.js';

export interface LowrankOptions {
  rank: number;
  budget: number;
  includeFirst: boolean;
}

export interface LowrankMatch extends MatchBase {
  conv: Node;
  x: Value;
  y: Value;
  weight: Tensor;
  bias?: Tensor;
  rank: number;
}

/**
 * Conv(C_in→C_out, k×k) → Conv(C_in→r, k×k) → Conv(r→C_out, 1×1), by truncated SVD; 2-D convs can then be fitted to
 * data (reduced-rank regression, lowrank-fit.ts). The maths: lowrank.md.
 */
export const lowrank = defineRule<LowrankMatch, LowrankOptions>({
  name: 'lowrank',
  meta: {
    description: 'Replace a k×k Conv by a k×k Conv to r channels and a 1×1 Conv back (truncated SVD of the kernel)',
    ops: ['Conv'],
    knob: { option: 'budget', values: [0.5, 0.35, 0.25, 0.15, 0.1, 0.05] },
    options: {
      rank: { type: 'number', default: 0, integer: true, min: 0, description: 'rank r (an integer ≥ 1); 0 chooses the largest rank within the budget' },
      budget: { type: 'number', default: 0.5, exclusiveMin: 0, max: 1, description: 'when rank is 0: parameters of the rewritten layer / those of the original, in (0, 1]' },
      includeFirst: { type: 'boolean', default: false, description: 'also rewrite convolutions that read a graph input' },
    },
  },

  match(conv, { options }) {
    const [x, w, b] = conv.inputs;
    const weight = w?.initializer;
    if (!x || !w || !weight) return noMatch('the weight is not a constant initializer');
    if (weight.dims.length < 3) return noMatch(`expected a convolution weight [C_out, C_in, k...], found dims [${weight.dims.join(', ')}]`);
    if (weight.dataType !== DataType.FLOAT) return noMatch(`the weight is ${dtypeName(weight.dataType)}; only float32 weights are factorized`);
    const group = conv.getInt('group', 1);
    if (group !== 1) return noMatch(group === weight.dims[0] && weight.dims[1] === 1 ? 'depthwise convolution' : `grouped convolution (group=${group})`);
    if (b && !b.initializer) return noMatch('the bias is not a constant initializer');
    if (!options.includeFirst && x.isGraphInput) return noMatch('first convolution (reads a graph input); set includeFirst to rewrite it');
    const [cout, cin, ...kernel] = weight.dims;
    const rank = chooseRank(cout, cin * kernel.reduce((a, k) => a * k, 1), options);
    if (typeof rank !== 'number') return rank;
    return { nodes: [conv], constants: b ? [w, b] : [w], conv, x, y: conv.outputs[0]!, weight, bias: b?.initializer, rank };
  },

  rewrite(match, b) {
    const [cout, cin, ...kernel] = match.weight.dims;
    const geo = convGeometry(match.conv, match.weight.dims);
    const spatial = { kernel_shape: kernel, strides: geo.strides, dilations: geo.dilations, ...(geo.pads ? { pads: geo.pads } : { auto_pad: geo.autoPad }) };
    const h = b.Conv(match.x, b.param('k.weight', [match.rank, cin, ...kernel]), null, spatial, 'k');
    const y = b.Conv(h, b.param('pw.weight', [cout, match.rank, ...kernel.map(() => 1)]), b.param('pw.bias', [cout]), {}, 'pw');
    // Patch statistics are 2-D: N-d convolutions keep their data-free factorization.
    if (kernel.length !== 2) return { replace: [[match.y, y]] };
    const where = match.conv.label;
    return {
      replace: [[match.y, y]],
      fit: { input: match.x, target: match.y.name, patches: { cin, cout, geometry: geo }, solve: (stats, params, options) => fitLowrank(stats, params, options, where) },
    };
  },

  init(match, params) {
    const [cout, cin, ...kernel] = match.weight.dims;
    const cols = cin * kernel.reduce((a, k) => a * k, 1);
    const r = match.rank;
    const { u, s, v } = kernelSvd(match.weight, r);
    const k = params.get('k.weight')!.data as Float32Array;
    const pw = params.get('pw.weight')!.data as Float32Array;
    for (let i = 0; i < r; i++) {
      const root = Math.sqrt(s[i]);
      for (let c = 0; c < cols; c++) k[i * cols + c] = root * v[i * cols + c];
      for (let o = 0; o < cout; o++) pw[o * r + i] = root * u[i * cout + o];
    }
    if (match.bias) (params.get('pw.bias')!.data as Float32Array).set(match.bias.toFloat32());
  },
});

/**
 * The rank: the one given, or the largest r with r·(C_in·k² + C_out) + C_out ≤ budget·(C_out·C_in·k² + C_out), at
 * least 1. A chosen rank that would not make the layer smaller declines; a given one is taken as asked (up to full rank).
 * `rank` and `budget` are in range: the driver checks them against `meta.options` before any match.
 */
export function chooseRank(cout: number, cols: number, { rank, budget }: Pick<LowrankOptions, 'rank' | 'budget'>): number | NoMatch {
  const full = Math.min(cout, cols);
  if (rank > 0) return rank <= full ? rank : noMatch(`rank ${rank} exceeds the kernel's full rank min(C_out, C_in·k²) = ${full}`);
  const r = Math.max(1, Math.floor((budget * (cout * cols + cout) - cout) / (cols + cout)));
  if (r * (cols + cout) >= cout * cols) {
    return noMatch(`rank ${r} would not reduce parameters: r·(C_in·k² + C_out) = ${r * (cols + cout)} ≥ C_out·C_in·k² = ${cout * cols}`);
  }
  return r;
}
