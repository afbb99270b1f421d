import { ftmError } from '../errors.js';
import { maxWeightMatching, type WeightedEdge } from './matching.js';

/** A prime channel and the ghosts the FTM rewrite will make from it as scaled copies. */
export interface ChannelGroup {
  prime: number;
  ghosts: number[];
}

/** R² becomes an integer weight in units of 2⁻²⁰, so the blossom algorithm runs on exact integers. */
const WEIGHT_SCALE = 2 ** 20;

/**
 * Above this many channels S = 2 pairs greedily then improves the pairs locally (`nearOptimalPairs`) instead of running
 * the exact matching, whose O(C³) in TypeScript takes minutes on the 1,024-2,048-channel layers of large networks.
 * bench/scale.md reports the gap to the exact matching where both run.
 */
export const EXACT_PAIRING_MAX_CHANNELS = 384;

/**
 * Groups a layer's C channels into groups of the given sizes (Σ sizes = C), each a prime and its ghosts, maximizing the
 * total similarity R² between each ghost and its prime, i.e. minimizing the ghosts' total relative error Σ (1 − R²).
 * The sizes are the caller's (a rule's layout, e.g. FTM's for its S). Groups are ordered by prime.
 * Pairs (sizes of 2, and one lone channel when C is odd) are solved exactly (maximum-weight matching) up to
 * EXACT_PAIRING_MAX_CHANNELS channels, near-optimally above, each pair directed so the prime reproduces its ghost
 * better. Larger groups are greedy, since the exact grouping is a set-partitioning problem (NP-hard for sizes ≥ 3).
 */
export function groupChannels(similarity: Float64Array, psnr: Float64Array, sizes: readonly number[]): ChannelGroup[] {
  const c = sizes.reduce((a, b) => a + b, 0);
  if (similarity.length !== c * c || psnr.length !== c * c || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw ftmError('E_RULE', `expected group sizes ≥ 1 summing to the layer's channels (${Math.round(Math.sqrt(similarity.length))}), found [${sizes.join(',')}]`);
  }
  const pairs = sizes.every((n) => n <= 2) && sizes.filter((n) => n === 2).length === Math.floor(c / 2);
  const groups = pairs ? directedPairs(c <= EXACT_PAIRING_MAX_CHANNELS ? exactPairs(similarity, c) : nearOptimalPairs(similarity, c), psnr, c) : greedyGroups(similarity, c, sizes);
  return groups.sort((a, b) => a.prime - b.prime);
}

/** Maximum-weight matching among maximum-cardinality ones (weights are ≥ 0, so that costs no weight): mate per channel. */
export function exactPairs(similarity: Float64Array, c: number): Int32Array {
  const edges: WeightedEdge[] = [];
  for (let i = 0; i < c; i++) for (let j = i + 1; j < c; j++) edges.push([i, j, Math.round(similarity[i * c + j] * WEIGHT_SCALE)]);
  return maxWeightMatching(c, edges, true);
}

/**
 * A maximum-cardinality matching of near-maximum weight on the graph of each channel's NEIGHBOURS most similar
 * channels, O(C²) for finding them and O(C·NEIGHBOURS) per round after: greedy on those edges sorted from the most
 * similar (a channel whose neighbours were all taken pairs with another such channel, greedily, on the full matrix), then
 * rounds of 2-opt: pairs (a, b), (x, y) with x a neighbour of a are re-paired as (a, x), (b, y) or (a, y), (b, x) when
 * that raises their total, until no such swap is left (at most PAIR_SWEEPS rounds). Mate per channel, −1 for the lone
 * one (C odd).
 */
export function nearOptimalPairs(similarity: Float64Array, c: number): Int32Array {
  const mate = new Int32Array(c).fill(-1);
  const near = neighbours(similarity, c, Math.min(NEIGHBOURS, c - 1));
  const k = near.length / c;
  const greedy = (edges: [number, number][]) => {
    edges.sort((e, f) => similarity[f[0] * c + f[1]] - similarity[e[0] * c + e[1]]);
    for (const [i, j] of edges) if (mate[i] === -1 && mate[j] === -1) link(mate, i, j);
  };
  greedy(Array.from({ length: near.length }, (_, e): [number, number] => [Math.floor(e / k), near[e]]));
  const left = Array.from({ length: c }, (_, i) => i).filter((i) => mate[i] === -1);
  greedy(left.flatMap((i, a) => left.slice(a + 1).map((j): [number, number] => [i, j])));
  const w = (i: number, j: number) => (i < 0 || j < 0 ? 0 : similarity[i * c + j]);
  for (let sweep = 0; sweep < PAIR_SWEEPS; sweep++) {
    let improved = false;
    for (let a = 0; a < c; a++) {
      for (let e = a * k; e < (a + 1) * k; e++) {
        const x = near[e], b = mate[a], y = mate[x];
        if (b === x) continue;
        const now = w(a, b) + w(x, y);
        // (a, x) + (b, y), or (a, y) + (b, x); a missing partner (the lone channel) pairs with nobody
        const first = w(a, x) + w(b, y), second = w(a, y) + w(b, x);
        if (Math.max(first, second) <= now * (1 + 1e-12) + 1e-15) continue;
        if (first >= second) {
          link(mate, a, x);
          link(mate, b, y);
        } else {
          link(mate, a, y);
          link(mate, b, x);
        }
        improved = true;
      }
    }
    if (!improved) break;
  }
  return mate;
}

/** Neighbours per channel that the near-optimal pairing considers. */
const NEIGHBOURS = 24;

/** Rounds of 2-opt at most; on real layers they stop after a few. */
const PAIR_SWEEPS = 50;

/** For each channel, the k others most similar to it, most similar first: k per channel, C·k in all. */
function neighbours(similarity: Float64Array, c: number, k: number): Int32Array {
  const out = new Int32Array(c * k);
  const best = new Float64Array(k);
  for (let i = 0; i < c; i++) {
    let size = 0;
    for (let j = 0; j < c; j++) {
      if (j === i) continue;
      const v = similarity[i * c + j];
      if (size === k && v <= best[k - 1]) continue;
      let at = size < k ? size++ : k - 1;
      while (at > 0 && best[at - 1] < v) {
        best[at] = best[at - 1];
        out[i * k + at] = out[i * k + at - 1];
        at--;
      }
      best[at] = v;
      out[i * k + at] = j;
    }
  }
  return out;
}

/** Pairs i with j; −1 on either side leaves the other alone. */
function link(mate: Int32Array, i: number, j: number): void {
  if (i >= 0) mate[i] = j;
  if (j >= 0) mate[j] = i;
}

/** Groups from a matching: in each pair the prime is the channel that reproduces the other better (higher PSNR for the
 * ghost); on a tie, the lower index. */
function directedPairs(mate: Int32Array, psnr: Float64Array, c: number): ChannelGroup[] {
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
 * For each size in turn, takes among the channels left the prime whose size − 1 most similar remaining channels are
 * together the most similar to it (ties: the lowest index), and makes them its ghosts. A prime's total can only fall
 * as channels are taken, so each keeps the total of its last evaluation as a bound and is re-evaluated only when it
 * comes out on top with a ghost since taken: the same groups as evaluating every prime at every step, which costs
 * O(C³/S), most of a wide network's planning.
 */
function greedyGroups(similarity: Float64Array, c: number, sizes: readonly number[]): ChannelGroup[] {
  const left = new Set(Array.from({ length: c }, (_, i) => i));
  const groups: ChannelGroup[] = [];
  const ghostsOf: number[][] = new Array(c);
  const bound = new Float64Array(c);
  const evaluate = (p: number, size: number) => {
    ghostsOf[p] = mostSimilar(similarity, c, p, left, size - 1);
    bound[p] = ghostsOf[p].reduce((sum, g) => sum + similarity[g * c + p], 0);
  };
  let evaluatedFor = 0;
  for (const size of sizes) {
    if (size !== evaluatedFor) for (const p of left) evaluate(p, size);
    evaluatedFor = size;
    let best: number;
    for (;;) {
      best = -1;
      for (const p of left) if (best < 0 || bound[p] > bound[best]) best = p;
      if (ghostsOf[best].every((g) => left.has(g))) break;
      evaluate(best, size);
    }
    const ghosts = ghostsOf[best];
    for (const ch of [best, ...ghosts]) left.delete(ch);
    groups.push({ prime: best, ghosts: [...ghosts].sort((a, b) => a - b) });
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
