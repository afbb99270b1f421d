import { GATE_AT_ZERO, type FtmWeights } from '../../rewrites/ftm-init.js';
import type { FtmLayout } from '../../rewrites/ftm-layout.js';
import { ftmError } from '../errors.js';
import type { Params } from '../rewrite/rule.js';

/**
 * The module-form weights an FTM rewrite currently holds: the inverse of setFtmParams (rewrites/ftm.ts). A folded
 * proposal (no `nf1.weight`) stores the affine per FTM channel t·m + j with the constant gate σ(0) folded into copies
 * t > 0; it is unfolded back to the original channels, with zero gates. `where` names the layer in messages.
 */
export function readFtmParams(params: Params, layout: FtmLayout, cin: number, k2: number, where = 'ftm'): FtmWeights {
  const { m, s, channels } = layout;
  const get = (role: string, size: number): Float32Array => {
    const t = params.get(role);
    if (!t) throw ftmError('E_USAGE', `expected the FTM weight "${role}" among the rewrite's params, found ${[...params.keys()].join(', ') || 'none'}`, where);
    const data = t.data;
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw ftmError('E_USAGE', `expected "${role}" to hold ${size} float32 values (m=${m}, S=${s}, C_in=${cin}, k²=${k2}), found [${t.dims.join(', ')}]`, where);
    }
    return data;
  };
  const weights = { pw: get('pw.weight', m * cin).slice(), pwBias: get('pw.bias', m).slice(), dw: get('dw.weight', m * k2).slice() };
  if (!params.has('nf1.weight')) {
    const scale = get('affine.scale', m * s), shift = get('affine.shift', m * s);
    const w: FtmWeights = { ...weights, gates: Array.from({ length: s - 1 }, () => new Float32Array(1)), scale: new Float32Array(channels), shift: new Float32Array(channels) };
    layout.groups.forEach((group, j) =>
      group.forEach((c, t) => {
        w.scale[c] = scale[t * m + j] / (t === 0 ? 1 : GATE_AT_ZERO);
        w.shift[c] = shift[t * m + j];
      }),
    );
    return w;
  }
  const gates = Array.from({ length: s - 1 }, (_, t) => {
    const g = params.get(`nf${t + 1}.weight`);
    if (!g) throw ftmError('E_USAGE', `expected the FTM weight "nf${t + 1}.weight" (S=${s}) among the rewrite's params`, where);
    return Float32Array.from(g.data as Float32Array);
  });
  return { ...weights, gates, scale: get('affine.scale', channels).slice(), shift: get('affine.shift', channels).slice() };
}

/** The ratio S of an FTM proposal, from its weights: S·m affine entries folded, or S−1 neighbor fusions. */
export function ftmRatio(params: Params, where = 'ftm'): number {
  const pw = params.get('pw.weight'), scale = params.get('affine.scale');
  if (!pw || !scale) throw ftmError('E_USAGE', 'expected the params of an FTM rewrite (pw.weight, affine.scale)', where);
  if (params.has('nf1.weight')) {
    let s = 1;
    while (params.has(`nf${s}.weight`)) s++;
    return s;
  }
  return scale.size / pw.dims[0];
}
