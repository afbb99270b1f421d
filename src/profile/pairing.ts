import { maxWeightMatching, type WeightedEdge } from './matching.js';

/** A prime channel and the ghosts the FTM rewrite will make from it as scaled copies. */
export interface ChannelGroup {
  prime: number;
  ghosts: number[];
}

/** R² becomes an integer weight in units of 2⁻²⁰, so the blossom algorithm runs on exact integers. */
const WEIGHT_SCALE = 2 ** 20;

/**
 * Groups a layer's C channels into a prime and up to S − 1 ghosts each, maximizing the total similarity R² between each
 * ghost and its prime, i.e. minimizing the ghosts' total relative error Σ (1 − R²). Groups are ordered by prime.
 * S = 2 is solved exactly (maximum-weight matching); with C odd one channel stays a prime without ghost. Larger S is
 * greedy, since the exact grouping is a set-partitioning problem (NP-hard for S ≥ 3).
 */
export function groupChannels(similarity: Float64Array, psnr: Float64Array, c: number, s: number): ChannelGroup[] {
  const groups = s === 2 ? pairs(similarity, psnr, c) : greedyGroups(similarity, c, s);
  return groups.sort((a, b) => a.prime - b.prime);
}

/**
 * Maximum-weight matching among maximum-cardinality ones (weights are ≥ 0, so that costs no weight). In each pair the
 * prime is the channel that reproduces the other better (higher PSNR for the ghost); on a tie, the lower index.
 */
function pairs(similarity: Float64Array, psnr: Float64Array, c: number): ChannelGroup[] {
  const edges: WeightedEdge[] = [];
  for (let i = 0; i < c; i++) for (let j = i + 1; j < c; j++) edges.push([i, j, Math.round(similarity[i * c + j] * WEIGHT_SCALE)]);
  const mate = maxWeightMatching(c, edges, true);
  const groups: ChannelGroup[] = [];
  for (let i = 0; i < c; i++) {
    const j = mate[i];
    if (j === -1) groups.push({ prime: i, ghosts: [] });
    else if (i < j) {
      const iIsGhost = psnr[i * c + j] > psnr[j * c + i];
      groups.push(iIsGhost ? { prime: j, ghosts: [i] } : { prime: i, ghosts: [j] });
    }
  }
  return groups;
}

/**
 * Repeatedly takes, among the channels left, the prime whose S − 1 most similar remaining channels are together the
 * most similar to it, and makes them its ghosts. O(C³/S) with a small constant.
 */
function greedyGroups(similarity: Float64Array, c: number, s: number): ChannelGroup[] {
  const left = new Set(Array.from({ length: c }, (_, i) => i));
  const groups: ChannelGroup[] = [];
  while (left.size) {
    let best: { prime: number; ghosts: number[]; total: number } | undefined;
    for (const p of left) {
      const ghosts = mostSimilar(similarity, c, p, left, s - 1);
      const total = ghosts.reduce((sum, g) => sum + similarity[g * c + p], 0);
      if (!best || total > best.total) best = { prime: p, ghosts, total };
    }
    for (const ch of [best!.prime, ...best!.ghosts]) left.delete(ch);
    groups.push({ prime: best!.prime, ghosts: best!.ghosts.sort((a, b) => a - b) });
  }
  return groups;
}

/** The k channels of `among` (other than p) most similar to p, best first. */
function mostSimilar(similarity: Float64Array, c: number, p: number, among: Set<number>, k: number): number[] {
  const top: number[] = [];
  for (const q of among) {
    if (q === p) continue;
    const w = similarity[q * c + p];
    if (top.length === k && w <= similarity[top[k - 1] * c + p]) continue;
    let at = top.length;
    while (at > 0 && similarity[top[at - 1] * c + p] < w) at--;
    top.splice(at, 0, q);
    if (top.length > k) top.pop();
  }
  return top;
}
