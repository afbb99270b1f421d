import { noMatch, type NoMatch } from '../src/index.js';

/**
 * Where each original output channel lives in an FTM. The module makes m = ceil(C/S) prime maps u_j; after the S−1
 * neighbor fusions and the slice, FTM channel t·m + j is the t-th copy of u_j (t = 0 is u_j itself). Group j of the
 * pairing (prime first, then ghosts) says which original channels those copies stand in for.
 */
export interface FtmLayout {
  s: number;
  m: number;
  channels: number;
  order: FtmOrder;
  /** groups[j][t] = original channel of copy t of u_j (FTM channel `ftmPosition(layout, j, t)`). */
  groups: number[][];
}

/**
 * How a form numbers the module's channels: 'copies' keeps each copy of all prime maps together (t·m + j, S·m channels:
 * a Concat of whole copies, as the module's fusions make them), 'channels' has them in the original order already
 * (C channels: a Gather of the prime maps).
 */
export type FtmOrder = 'copies' | 'channels';

/** The channel of the module's output holding copy t of u_j. */
export const ftmPosition = (layout: FtmLayout, j: number, t: number): number => (layout.order === 'channels' ? layout.groups[j][t] : t * layout.m + j);

/** How many channels the module's output has: S·m, or C in the original order. */
export const ftmWidth = (layout: FtmLayout): number => (layout.order === 'channels' ? layout.channels : layout.m * layout.s);

/** The number of copies of u_j that survive the slice to C channels. */
const groupSize = (j: number, m: number, s: number, channels: number) => Math.min(s, Math.ceil((channels - j) / m));

/**
 * The group sizes an FTM of C channels at ratio S has: m = ceil(C/S) prime maps, group j keeping the copies that
 * survive the slice. Filling S-sized groups until channels run out would leave one short group where the module
 * spreads the remainder (64 channels at S = 3: 21 threes and a one, where the module has 20 threes and two twos).
 */
export function ftmGroupSizes(channels: number, s: number): number[] {
  const m = Math.ceil(channels / s);
  return Array.from({ length: m }, (_, j) => groupSize(j, m, s, channels));
}

/** Builds the layout from a pairing (any order of groups), or pairs channel j with j+m, j+2m, ... when none is given. */
export function ftmLayout(channels: number, s: number, pairing?: number[][], order: FtmOrder = 'copies'): FtmLayout | NoMatch {
  if (!Number.isInteger(s) || s < 2) return noMatch(`ratio S must be an integer ≥ 2, found ${s}`);
  const m = Math.ceil(channels / s);
  if (m >= channels) return noMatch(`${channels} output channel(s) cannot share prime maps at S=${s}`);
  const sizes = ftmGroupSizes(channels, s);
  if (!pairing) return { s, m, channels, order, groups: sizes.map((n, j) => Array.from({ length: n }, (_, t) => t * m + j)) };
  const groups = [...pairing].sort((a, b) => b.length - a.length);
  const seen = new Set(groups.flat());
  const fits = groups.length === m && groups.every((g, j) => g.length === sizes[j]) && seen.size === channels && [...seen].every((c) => c >= 0 && c < channels);
  if (!fits) {
    return noMatch(`the pairing does not fit S=${s}: expected ${m} groups of sizes [${sizes.join(',')}] covering channels 0..${channels - 1}, found sizes [${groups.map((g) => g.length).join(',')}]`);
  }
  return { s, m, channels, order, groups };
}

/** indices[c] = position of original channel c when channels are numbered by `position(j, t)`. */
export function channelIndices(layout: FtmLayout, position: (j: number, t: number) => number): number[] {
  const indices = new Array<number>(layout.channels);
  layout.groups.forEach((g, j) => g.forEach((c, t) => (indices[c] = position(j, t))));
  return indices;
}
