import { ftmError } from '../errors.js';
import type { PatchStats } from '../rewrite/fit-contract.js';
import { emptyPatchStats } from './patch-stats.js';

/**
 * The statistics a layer reading only the `kept` input channels (ascending) would have collected: the entries of
 * those channels' taps, of the ones channel and of the bias, picked out of statistics over all channels. The sums are
 * the same sums, so this is exact; it lets settings that keep different channels of one input share one pass.
 */
export function restrictChannels(stats: PatchStats, kept: readonly number[]): PatchStats {
  const { cin, k2, cout } = stats;
  const bad = kept.find((c, i) => !Number.isInteger(c) || c < 0 || c >= cin || (i > 0 && c <= kept[i - 1]));
  if (bad !== undefined) throw ftmError('E_USAGE', `expected ascending input channels in [0, ${cin}), found ${bad} in [${kept.join(', ')}]`);
  const out = emptyPatchStats(kept.length, k2, cout);
  const from = [...kept, cin].flatMap((c) => Array.from({ length: k2 }, (_, t) => c * k2 + t));
  from.push(stats.size - 1);
  for (const [i, a] of from.entries()) {
    for (const [j, b] of from.entries()) out.xx[i * out.size + j] = stats.xx[a * stats.size + b];
    out.xy.set(stats.xy.subarray(a * cout, (a + 1) * cout), i * cout);
  }
  out.yy.set(stats.yy);
  out.count = stats.count;
  return out;
}

/**
 * The share of the input's variance (summed over channels and taps) that lies on the channels not `kept`: the relative
 * error of the input itself when those channels are dropped (each at its best constant, its mean), read off the same
 * statistics.
 */
export function droppedShare(stats: PatchStats, kept: readonly number[]): number {
  const { cin, k2, size, xx } = stats;
  const one = size - 1;
  const n = xx[one * size + one];
  const keep = new Set(kept);
  let dropped = 0, all = 0;
  for (let c = 0; c < cin; c++) {
    for (let t = 0; t < k2; t++) {
      const i = c * k2 + t;
      const variance = Math.max(0, xx[i * size + i] - (xx[i * size + one] * xx[i * size + one]) / n);
      all += variance;
      if (!keep.has(c)) dropped += variance;
    }
  }
  return all > 0 ? dropped / all : 0;
}
