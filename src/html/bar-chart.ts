import { escapeHtml } from './escape.js';
import { linearScale, tickLabel } from './ticks.js';

export interface BarSeries {
  /** Shown in the legend. */
  name: string;
  /** CSS class of its bars and the data attribute holding its value on each row (data-<key>). */
  key: string;
  values: readonly number[];
}

export interface BarChartOptions {
  id: string;
  title: string;
  /** One row per label, in order. */
  labels: readonly string[];
  series: readonly BarSeries[];
  /** Under the value axis. */
  axisLabel: string;
  /** A row's values as printed beside its bars. */
  format: (v: number) => string;
  /** An extra CSS class per row (e.g. "kept"), drawn differently by the page's style. */
  rowClass?: (row: number) => string;
  width?: number;
}

const ROW_GAP = 6;
const BAR = 9;
const CHAR = 6.6;

/** Horizontal bars, one row per label and one bar per series in each row, from zero. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 1000;
  const labelWidth = Math.ceil(Math.max(...o.labels.map((l) => l.length), 4) * CHAR) + 12;
  const valueWidth = 150;
  const top = 28;
  const rowHeight = o.series.length * BAR + ROW_GAP;
  const plotBottom = top + o.labels.length * rowHeight;
  const height = plotBottom + 44;
  const max = Math.max(0, ...o.series.flatMap((s) => s.values));
  const x = linearScale(0, max, labelWidth, width - valueWidth);
  const axis = x.ticks
    .map((t) => `<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${plotBottom}"/><text class="tick" x="${x(t)}" y="${plotBottom + 14}" text-anchor="middle">${tickLabel(t)}</text>`)
    .join('');
  const rows = o.labels.map((label, i) => {
    const y0 = top + i * rowHeight;
    const data = o.series.map((s) => ` data-${s.key}="${s.values[i]}"`).join('');
    const bars = o.series
      .map((s, k) => `<rect class="bar ${s.key}" x="${x(0)}" y="${y0 + k * BAR}" width="${Math.max(x(s.values[i]) - x(0), 0.5)}" height="${BAR - 1}"/>`)
      .join('');
    const end = Math.max(...o.series.map((s) => x(s.values[i])));
    const text = o.series.map((s) => o.format(s.values[i])).join(' → ');
    const mid = y0 + (o.series.length * BAR) / 2 + 3.5;
    return (
      `<g class="bar-row ${o.rowClass?.(i) ?? ''}" data-label="${escapeHtml(label)}"${data}>` +
      `<text class="label" x="${labelWidth - 8}" y="${mid}" text-anchor="end">${escapeHtml(label)}</text>${bars}` +
      `<text class="value" x="${end + 6}" y="${mid}">${escapeHtml(text)}</text></g>`
    );
  });
  const legend = o.series
    .map((s, k) => `<rect class="bar ${s.key}" x="${labelWidth + k * 130}" y="6" width="12" height="10"/><text class="legend" x="${labelWidth + k * 130 + 17}" y="15">${escapeHtml(s.name)}</text>`)
    .join('');
  return (
    `<svg id="${o.id}" class="chart bar-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(o.title)}">` +
    `<g class="axis">${axis}<text class="axis-label" x="${(labelWidth + width - valueWidth) / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(o.axisLabel)}</text></g>` +
    `${legend}${rows.join('')}</svg>`
  );
}
