import { GATE_AT_ZERO, type FtmWeights } from './ftm-init.js';
import { ftmPosition, ftmWidth, type FtmLayout } from './ftm-layout.js';

export const canFold = (w: FtmWeights): boolean => w.gates.every((g) => g.every((x) => x === 0));

/**
 * With every fusion weight zero each gate is the constant sigmoid(0), so copy t > 0 of u_j is GATE_AT_ZERO·u_j and the
 * neighbor fusions reduce to S plain copies of u followed by one per-channel affine. Returns that affine in FTM channel
 * order (`ftmPosition`, `ftmWidth` channels); in the folded form, channels beyond C (short groups) get zero and are dropped by the reorder.
 */
export function foldAffine(w: FtmWeights, layout: FtmLayout): { scale: Float32Array; shift: Float32Array } {
  const scale = new Float32Array(ftmWidth(layout));
  const shift = new Float32Array(ftmWidth(layout));
  layout.groups.forEach((group, j) =>
    group.forEach((c, t) => {
      scale[ftmPosition(layout, j, t)] = w.scale[c] * (t === 0 ? 1 : GATE_AT_ZERO);
      shift[ftmPosition(layout, j, t)] = w.shift[c];
    }),
  );
  return { scale, shift };
}
