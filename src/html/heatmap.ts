import type { SimilarityMap } from '../profile/similarity-map.js';
import { escapeHtml } from './escape.js';
import { linearScale, tickLabel } from './ticks.js';

/** Viridis at five stops: ordered in lightness, readable by the colour-blind, and in grey print. */
const PALETTE = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** The colour of t in [0, 1] on the palette. */
export function paletteColor(t: number): string {
  const u = Math.min(Math.max(t, 0), 1) * (PALETTE.length - 1);
  const k = Math.min(Math.floor(u), PALETTE.length - 2);
  const f = u - k;
  const [r, g, b] = PALETTE[k].map((c, i) => Math.round(c + f * (PALETTE[k + 1][i] - c)));
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}

/**
 * The channel-similarity matrix as a grid of cells (row: channel reproduced, column: channel it is made from), coloured
 * by PSNR, with the FTM pairing's (ghost, prime) cells outlined.
 */
export function heatmap(map: SimilarityMap, id: string, side = 512): string {
  const n = map.psnr.length;
  const cell = Math.max(2, Math.floor(side / n));
  const size = cell * n;
  const left = 48, top = 24;
  const values = map.psnr.flat().filter((v): v is number => v !== null);
  // The colour scale spans round values around the data, as the legend beside it shows.
  const scale = values.length ? linearScale(Math.min(...values), Math.max(...values), top + size, top, 5) : linearScale(0, 1, top + size, top, 5);
  const lo = scale.ticks[0], hi = scale.ticks.at(-1)!;
  const color = (v: number) => paletteColor(hi > lo ? (v - lo) / (hi - lo) : 1);
  const rows = map.psnr.map((row, i) => {
    const cells = row
      .map((v, j) => {
        const at = `x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}"`;
        return v === null ? `<rect class="cell self" ${at} data-psnr=""/>` : `<rect class="cell" ${at} fill="${color(v)}" data-psnr="${v}"/>`;
      })
      .join('');
    return `<g data-row="${i}">${cells}</g>`;
  });
  const pairs = map.pairs.map(
    ([i, j]) => `<rect class="pair" x="${left + j * cell + 0.75}" y="${top + i * cell + 0.75}" width="${cell - 1.5}" height="${cell - 1.5}" data-row="${i}" data-col="${j}"/>`,
  );
  const step = channelTickStep(map.channels);
  const ticks: string[] = [];
  for (let ch = 0; ch < map.channels; ch += step) {
    const at = (Math.floor(ch / map.block) + 0.5) * cell;
    ticks.push(`<text class="tick" x="${left - 4}" y="${top + at + 3.5}" text-anchor="end">${ch}</text>`);
    ticks.push(`<text class="tick" x="${left + at}" y="${top - 6}" text-anchor="middle">${ch}</text>`);
  }
  const legendX = left + size + 28;
  const legendTicks = scale.ticks
    .map((t) => `<text class="tick" x="${legendX + 20}" y="${scale(t) + 3.5}">${tickLabel(t)} dB</text>`)
    .join('');
  const gradient = `<linearGradient id="${id}-gradient" x1="0" y1="1" x2="0" y2="0">${PALETTE.map((_, k) => `<stop offset="${k / (PALETTE.length - 1)}" stop-color="${paletteColor(k / (PALETTE.length - 1))}"/>`).join('')}</linearGradient>`;
  const width = legendX + 150, height = top + size + 40;
  const blockNote = map.block > 1 ? `each cell: ${map.block}×${map.block} channels, their best pair` : 'each cell: one channel pair';
  return (
    `<svg id="${id}" class="chart heatmap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" ` +
    `aria-label="${escapeHtml(`channel similarity of ${map.layer}`)}" data-layer="${escapeHtml(map.layer)}" data-channels="${map.channels}" data-block="${map.block}">` +
    `<defs>${gradient}</defs>${rows.join('')}<g class="pairs">${pairs.join('')}</g>${ticks.join('')}` +
    `<text class="axis-label" x="${left + size / 2}" y="${top + size + 16}" text-anchor="middle">made from channel (column); ${escapeHtml(blockNote)}</text>` +
    `<text class="axis-label" x="${left + size / 2}" y="${top + size + 32}" text-anchor="middle">row: channel reproduced</text>` +
    `<rect x="${legendX}" y="${top}" width="14" height="${size}" fill="url(#${id}-gradient)"/>${legendTicks}` +
    `<rect class="pair" x="${legendX}" y="${top + size + 8}" width="12" height="12"/><text class="legend" x="${legendX + 18}" y="${top + size + 18}">FTM pair (ghost, prime)</text>` +
    `</svg>`
  );
}

/** Channel numbers on the axes: about eight of them, at multiples of a power of two. */
function channelTickStep(channels: number): number {
  let step = 1;
  while (channels / step > 8) step *= 2;
  return step;
}
