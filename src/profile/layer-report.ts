import type { Model } from '../ir/model.js';
import { dryRun } from '../rewrite/driver.js';
import type { AnyRule } from '../rewrite/rule.js';
import { constantTensor } from './layers.js';
import type { ProfiledLayer } from './profiled-layer.js';
import { copyScale, shareAbove } from './psnr.js';
import { decibels, type LayerReport } from './report.js';
import { ruleStats } from './rule-stats.js';

/** PSNR in dB a best partner must reach to count in a layer's `share`, unless the caller says otherwise. */
export const DEFAULT_THRESHOLD = 30;

/**
 * A profiled layer as the profile report shows it for a rule at given options: whether the rule takes it (the rule's
 * own match, by the driver's dry run with the statistics its hook derives), and the grouping that hook gives.
 */
export function layerReport(model: Model, profiled: ProfiledLayer, rule: AnyRule, ruleOptions: Record<string, unknown>, threshold: number): LayerReport {
  const { channels: c, gram, mean, psnr, best, conv } = profiled;
  const stats = ruleStats(rule, [profiled], ruleOptions)[profiled.layer];
  const run = dryRun(model, rule, conv.node, ruleOptions, stats);
  const weight = constantTensor(conv.node.inputs[1]);
  return {
    layer: profiled.layer,
    node: conv.node.name ?? null,
    output: conv.output.name,
    weightShape: weight ? [...weight.dims] : null,
    outputShape: profiled.outputShape,
    params: profiled.params,
    qualifies: run.fires,
    reason: run.fires ? null : (run.reason ?? null),
    score: decibels(profiled.score)!,
    share: shareAbove(best.psnr, threshold),
    bestPartner: Array.from(best.partner),
    bestPsnr: Array.from(best.psnr, decibels),
    groups: (stats?.groups ?? []).map(([prime, ...ghosts]) => ({
      prime,
      ghosts: ghosts.map((g) => {
        const scale = stats?.scales?.[g] ?? copyScale(gram, c, g, prime);
        return { channel: g, psnr: decibels(psnr[g * c + prime]), scale, offset: profiled.centered ? mean[g] - scale * mean[prime] : 0 };
      }),
    })),
    peak: Array.from(profiled.peak),
    mean: Array.from(mean),
    psnr: Array.from({ length: c }, (_, i) => Array.from(psnr.subarray(i * c, (i + 1) * c), decibels)),
  };
}
