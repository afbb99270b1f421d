import { ftmError } from '../errors.js';
import type { LayerReport } from './report.js';

/** PSNRs above this are drawn alike; the redundancy score clips at the same value. */
const CLIP_DB = 100;

/** The most cells per side a map keeps: a picture of 128×128 cells still shows structure, a 2048² matrix is 4M numbers. */
export const MAX_MAP_CELLS = 128;

/**
 * One layer's channel-similarity matrix, small enough to keep in a report and draw: psnr[i][j] is how well channel i
 * is reproduced from channel j. With more than MAX_MAP_CELLS channels, channels are taken `block` at a time and a cell
 * holds the best PSNR between any two different channels of its blocks (the max shows whether a block holds a pair; a
 * mean would wash single pairs out).
 */
export interface SimilarityMap {
  layer: string;
  channels: number;
  /** Channels per cell side (1: one cell per channel pair). */
  block: number;
  /** PSNR in dB, clipped at 100; null where a cell holds only a channel against itself. Rows: channels reproduced. */
  psnr: (number | null)[][];
  /** The FTM grouping's (ghost, prime) pairs as [row, column] cells, each once: row = the ghost's, column = its prime's. */
  pairs: [number, number][];
  /** The grouping's ratio: channels per (prime, ghosts) group (by default its largest group's size: FTM's S). */
  s: number;
}

/** The similarity map of a profiled layer, reduced to at most `maxCells` cells per side. */
export function similarityMap(layer: LayerReport, s = largestGroup(layer), maxCells = MAX_MAP_CELLS): SimilarityMap {
  const c = layer.psnr.length;
  const block = Math.ceil(c / maxCells);
  const size = Math.ceil(c / block);
  const psnr = Array.from({ length: size }, () => new Array<number | null>(size).fill(null));
  for (let i = 0; i < c; i++) {
    const row = psnr[Math.floor(i / block)];
    for (let j = 0; j < c; j++) {
      if (i === j) continue;
      const db = Math.min(layer.psnr[i][j] ?? CLIP_DB, CLIP_DB);
      const cell = Math.floor(j / block);
      row[cell] = Math.max(row[cell] ?? -Infinity, db);
    }
  }
  const pairs = new Map<string, [number, number]>();
  for (const g of layer.groups) {
    for (const ghost of g.ghosts) {
      const cell: [number, number] = [Math.floor(ghost.channel / block), Math.floor(g.prime / block)];
      pairs.set(cell.join(','), cell);
    }
  }
  return { layer: layer.layer, channels: c, block, psnr, pairs: [...pairs.values()], s };
}

/** Channels in the layer's largest (prime, ghosts) group; 1 without a grouping. */
function largestGroup(layer: LayerReport): number {
  return layer.groups.reduce((n, g) => Math.max(n, 1 + g.ghosts.length), 1);
}

/**
 * The layer a similarity map shows: `wanted` by name, else the most redundant of `preferred` (e.g. the rewritten
 * layers), else the most redundant of all. Undefined only for a report without layers.
 */
export function mapLayer<L extends { layer: string; score: number }>(layers: readonly L[], wanted: string | undefined, preferred: (l: L) => boolean): L | undefined {
  if (wanted !== undefined) {
    const found = layers.find((l) => l.layer === wanted);
    if (!found) {
      const list = layers.slice(0, 10).map((l) => `"${l.layer}"`).join(', ') + (layers.length > 10 ? ', ...' : '');
      throw ftmError('E_USAGE', `no profiled Conv layer named "${wanted}" to draw the similarity map of; the layers are ${list}`);
    }
    return found;
  }
  const mostRedundant = (ls: readonly L[]) => ls.reduce<L | undefined>((best, l) => (!best || l.score > best.score ? l : best), undefined);
  return mostRedundant(layers.filter(preferred)) ?? mostRedundant(layers);
}
