import { describeSetting, type ProfileReport } from '../profile/report.js';
import { mapLayer, similarityMap } from '../profile/similarity-map.js';
import { barChart } from './bar-chart.js';
import { card, htmlDocument } from './document.js';
import { escapeHtml } from './escape.js';
import { count, decimals } from './format.js';
import { heatmap } from './heatmap.js';
import { htmlTable } from './table.js';

/**
 * The profile as one self-contained HTML page: redundancy per layer, and the similarity map of `layer` (default: the
 * most redundant layer the rule takes).
 */
export function profilePage(r: ProfileReport, layer?: string): string {
  const title = `ftm-compress profile${r.model ? `: ${r.model}` : ''}`;
  const { threshold, centered } = r.settings;
  const shown = mapLayer(r.layers, layer, (l) => l.qualifies);
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${count(r.samples)} calibration samples on input <code>${escapeHtml(r.input)}</code> · ` +
      `${centered ? 'affine copies a·F+b' : 'scaled copies a·F'} · grouping for ${escapeHtml(describeSetting(r.settings))}</p>`,
    `<div class="cards">` +
      card('layers', 'Conv layers', String(r.totals.layers), r.totals.layers) +
      card('qualifying', `qualify for ${r.settings.rule}`, String(r.totals.qualifying), r.totals.qualifying) +
      card('params', 'Conv parameters', count(r.totals.params), r.totals.params) +
      card('qualifyingParams', 'in qualifying layers', count(r.totals.qualifyingParams), r.totals.qualifyingParams) +
      `</div>`,
    '<h2>Redundancy per layer</h2>',
    `<p class="note">Score: mean over output channels of the best partner's PSNR (capped at 100 dB). Share: channels whose best partner reaches ${threshold} dB. ` +
      `Pale bars: layers that do not qualify for ${escapeHtml(r.settings.rule)}.</p>`,
    `<div class="charts">${barChart({
      id: 'score-chart',
      title: 'redundancy score per Conv layer',
      labels: r.layers.map((l) => l.layer),
      series: [{ name: 'score (dB)', key: 'score', values: r.layers.map((l) => l.score) }],
      axisLabel: 'best-partner PSNR, mean over channels (dB)',
      format: (v) => `${decimals(v, 1)} dB`,
      rowClass: (i) => (r.layers[i].qualifies ? 'qualifies' : 'kept'),
    })}</div>`,
    htmlTable({
      id: 'layers-table',
      header: ['layer', 'weight', 'output', 'params', 'score (dB)', `≥ ${threshold} dB`, 'FTM'],
      numeric: [3, 4, 5],
      rows: r.layers.map((l) => [
        { html: `<code>${escapeHtml(l.layer)}</code>` },
        l.weightShape ? l.weightShape.join('×') : '?',
        l.outputShape.join('×'),
        count(l.params),
        decimals(l.score, 1),
        `${Math.round(100 * l.share)}%`,
        l.qualifies ? 'qualifies' : `no: ${l.reason}`,
      ]),
      rowClass: (i) => (r.layers[i].qualifies ? '' : 'kept'),
    }),
    shown
      ? `<h2>Channel similarity: <code>${escapeHtml(shown.layer)}</code></h2>` +
        `<p class="note">PSNR of each output channel (row) reproduced as a copy of another (column). Outlined: the grouping's (ghost, prime) pairs. ` +
        'Another layer: <code>--html-layer NAME</code>.</p>' +
        heatmap(similarityMap(shown), 'similarity-map')
      : '',
  ];
  return htmlDocument(title, body.join('\n'));
}
