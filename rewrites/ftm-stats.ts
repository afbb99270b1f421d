import { copyScale, groupChannels, type LayerProfile, type LayerStats } from '../src/index.js';
import { ftmGroupSizes } from './ftm-layout.js';

/**
 * The FTM rule's `meta.stats` hook: the layer's channels grouped into the module's group sizes for S (each prime
 * first, then the ghosts it makes best), and each ghost's least-squares factor from its prime, all from the profile's
 * statistics. A channel count the module cannot take at S still gets a grouping (the rule's match says why not).
 */
export function ftmStats(profile: LayerProfile, { s }: { s: number }): LayerStats {
  const c = profile.channels;
  const groups = groupChannels(profile.similarity, profile.psnr, ftmGroupSizes(c, s));
  const scales = new Array<number>(c).fill(1);
  for (const { prime, ghosts } of groups) for (const g of ghosts) scales[g] = copyScale(profile.gram, c, g, prime);
  return { groups: groups.map((g) => [g.prime, ...g.ghosts]), scales };
}
