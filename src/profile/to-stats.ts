import type { LayerStats } from '../rewrite/rule.js';
import type { ProfileReport } from './report.js';

/** The profiler's pairing and ghost scales as the per-layer statistics rules read (`applyRules(..., { stats })`). */
export function statsFromProfile(report: ProfileReport): Record<string, LayerStats> {
  const out: Record<string, LayerStats> = {};
  for (const layer of report.layers) {
    if (!layer.qualifies || layer.groups.length === 0) continue;
    const scales = new Array<number>(layer.outputShape[0]).fill(1);
    for (const g of layer.groups) for (const ghost of g.ghosts) scales[ghost.channel] = ghost.scale;
    out[layer.layer] = { groups: layer.groups.map((g) => [g.prime, ...g.ghosts.map((h) => h.channel)]), scales };
  }
  return out;
}
