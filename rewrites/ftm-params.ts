import { ftmError, type Params } from '../src/index.js';
import { canFold, foldAffine } from './ftm-fold.js';
import { GATE_AT_ZERO, type FtmWeights } from './ftm-init.js';
import { ftmPosition, ftmWidth, type FtmLayout } from './ftm-layout.js';

/** Writes module-form weights into a proposal's params, folding them when the proposal is a folded form (gathered or folded). */
export function setFtmParams(params: Params, w: FtmWeights, layout: FtmLayout): void {
  const set = (role: string, data: Float32Array) => (params.get(role)!.data as Float32Array).set(data);
  set('pw.weight', w.pw);
  set('pw.bias', w.pwBias);
  set('dw.weight', w.dw);
  if (!params.has('nf1.weight') && layout.s > 1) {
    if (!canFold(w)) throw ftmError('E_RULE', 'the folded FTM form needs zero neighbor-fusion weights: use form "module"');
    const folded = foldAffine(w, layout);
    set('affine.scale', folded.scale);
    set('affine.shift', folded.shift);
    return;
  }
  w.gates.forEach((g, i) => set(`nf${i + 1}.weight`, g));
  set('affine.scale', w.scale);
  set('affine.shift', w.shift);
}

/**
 * The module-form weights a proposal currently holds: the inverse of setFtmParams. A folded proposal (no `nf1.weight`)
 * stores the affine per channel of its module (`ftmPosition`) with the constant gate σ(0) folded into copies t > 0; it
 * is unfolded back to the original channels, with zero gates. `where` names the layer in messages.
 */
export function readFtmParams(params: Params, layout: FtmLayout, cin: number, k2: number, where = 'ftm'): FtmWeights {
  const { m, s, channels } = layout;
  const get = (role: string, size: number): Float32Array => {
    const t = params.get(role);
    if (!t) throw ftmError('E_RULE', `expected the FTM weight "${role}" among the rewrite's params, found ${[...params.keys()].join(', ') || 'none'}`, where);
    const data = t.data;
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw ftmError('E_RULE', `expected "${role}" to hold ${size} float32 values (m=${m}, S=${s}, C_in=${cin}, k²=${k2}), found [${t.dims.join(', ')}]`, where);
    }
    return data;
  };
  const weights = { pw: get('pw.weight', m * cin).slice(), pwBias: get('pw.bias', m).slice(), dw: get('dw.weight', m * k2).slice() };
  if (!params.has('nf1.weight')) {
    const scale = get('affine.scale', ftmWidth(layout)), shift = get('affine.shift', ftmWidth(layout));
    const w: FtmWeights = { ...weights, gates: Array.from({ length: s - 1 }, () => new Float32Array(1)), scale: new Float32Array(channels), shift: new Float32Array(channels) };
    layout.groups.forEach((group, j) =>
      group.forEach((c, t) => {
        w.scale[c] = scale[ftmPosition(layout, j, t)] / (t === 0 ? 1 : GATE_AT_ZERO);
        w.shift[c] = shift[ftmPosition(layout, j, t)];
      }),
    );
    return w;
  }
  const gates = Array.from({ length: s - 1 }, (_, t) => {
    const g = params.get(`nf${t + 1}.weight`);
    if (!g) throw ftmError('E_RULE', `expected the FTM weight "nf${t + 1}.weight" (S=${s}) among the rewrite's params`, where);
    return Float32Array.from(g.data as Float32Array);
  });
  return { ...weights, gates, scale: get('affine.scale', channels).slice(), shift: get('affine.shift', channels).slice() };
}
