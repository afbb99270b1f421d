import { formatCount, formatTable } from '../report/table.js';
import { describeSetting, type ProfileReport } from './report.js';

/** The profile report as a person reads it: one row per layer, then the totals and what the numbers mean. */
export function formatProfile(r: ProfileReport): string {
  const { threshold, centered, rule } = r.settings;
  const rows = r.layers.map((l) => [
    l.layer,
    l.weightShape ? l.weightShape.join('×') : '?',
    l.outputShape.join('×'),
    formatCount(l.params),
    l.score.toFixed(1),
    `${Math.round(l.share * 100)}%`,
    l.qualifies ? 'yes' : `no: ${l.reason}`,
  ]);
  const { totals } = r;
  return [
    formatTable(['layer', 'weight', 'output', 'params', 'score dB', `≥${threshold} dB`, rule], rows),
    '',
    `${totals.qualifying} of ${totals.layers} Conv layers qualify for ${rule}, ` +
      `holding ${formatCount(totals.qualifyingParams)} of ${formatCount(totals.params)} Conv parameters.`,
    `Measured on ${formatCount(r.samples)} calibration samples. score: mean over channels of the best partner's PSNR ` +
      `(${centered ? 'affine copies a·F+b' : 'scaled copies a·F'}, capped at 100 dB); ≥${threshold} dB: share of channels ` +
      `with a partner that good. Grouping for ${describeSetting(r.settings)}: see --json.`,
  ].join('\n');
}
