import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import type { AnyRule, LayerProfile } from '../rewrite/rule.js';

/**
 * The mixed plan's trial fits over a single rule's fits, in estimated work, from the layers' shapes and the profile's
 * positions alone (before any trial runs). For a conv with patch length K = C_in·k² seen at P positions, collecting
 * its statistics costs K²·P and a closed-form solve about K³. A single rule's job collects once and solves once per
 * layer, K²·(P + K); the mixed plan collects twice (the layer's patches, and its consumer's for pruning) and solves
 * every setting of every rule, K²·(2P + settings·K). Narrow layers seen at many positions keep the share near 2; wide
 * layers seen at few (the last stage of a network at 224×224 on tens of images, K = 4,608) push it towards the number
 * of settings, which is where the trials cost many times the job they improve (bench/mixed-cost.md).
 */
export function mixedTrialShare(model: Model, rules: readonly AnyRule[], profiles: readonly LayerProfile[]): number {
  const settings = rules.reduce((sum, r) => sum + (r.meta.knob?.values.length ?? 1), 0);
  const positions = new Map(profiles.map((p) => [p.layer, p.count]));
  let mixed = 0, single = 0;
  for (const node of model.graph.nodes) {
    if (node.opType !== 'Conv' || !node.isOnnxDomain || node.getInt('group', 1) !== 1) continue;
    const dims = node.inputs[1]?.initializer?.dims;
    const p = positions.get(nodeKey(node));
    if (!dims || dims.length < 3 || p === undefined) continue;
    const k = dims.slice(1).reduce((a, b) => a * b, 1);
    mixed += k * k * (2 * p + settings * k);
    single += k * k * (p + k);
  }
  return single > 0 ? mixed / single : 1;
}
