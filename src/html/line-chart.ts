import { escapeHtml } from './escape.js';
import { linearScale, tickLabel } from './ticks.js';

export interface LineSeries {
  name: string;
  /** CSS class of its line and points; data-series on them. */
  key: string;
  points: readonly { x: number; y: number }[];
}

export interface LineChartOptions {
  id: string;
  title: string;
  series: readonly LineSeries[];
  xLabel: string;
  yLabel: string;
  /** Fixed value range of the y axis (e.g. [0, 100] for a percentage); default: the data's, from zero. */
  yRange?: [number, number];
  width?: number;
  height?: number;
}

/** Lines through points (each point drawn, so a one-point series still shows), on shared axes. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 480;
  const height = o.height ?? 260;
  const left = 52, right = 16, top = 30, bottom = 42;
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x), ys = all.map((p) => p.y);
  const x = linearScale(Math.min(0, ...xs), Math.max(1, ...xs), left, width - right);
  const [yMin, yMax] = o.yRange ?? [Math.min(0, ...ys), Math.max(...ys, 0)];
  const y = linearScale(yMin, yMax, height - bottom, top, 4);
  const grid =
    y.ticks.map((t) => `<line class="grid" x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${left - 6}" y="${y(t) + 3.5}" text-anchor="end">${tickLabel(t)}</text>`).join('') +
    x.ticks.map((t) => `<text class="tick" x="${x(t)}" y="${height - bottom + 14}" text-anchor="middle">${tickLabel(t)}</text>`).join('');
  const lines = o.series.map((s) => {
    const path = s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
    const dots = s.points.map((p) => `<circle class="point ${s.key}" data-series="${s.key}" data-x="${p.x}" data-y="${p.y}" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3"/>`).join('');
    return `<g class="series" data-series="${s.key}"><polyline class="line ${s.key}" points="${path}"/>${dots}</g>`;
  });
  const legend = o.series
    .map((s, k) => `<line class="line ${s.key}" x1="${left + k * 150}" x2="${left + k * 150 + 18}" y1="12" y2="12"/><text class="legend" x="${left + k * 150 + 23}" y="16">${escapeHtml(s.name)}</text>`)
    .join('');
  return (
    `<svg id="${o.id}" class="chart line-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(o.title)}">` +
    `<g class="axis">${grid}<line class="baseline" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>` +
    `<text class="axis-label" x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>` +
    `<text class="axis-label" transform="translate(13 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yLabel)}</text></g>` +
    `${legend}${lines.join('')}</svg>`
  );
}
