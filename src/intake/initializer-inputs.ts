import type { Model } from '../ir/model.js';

/**
 * Drops from the graph inputs the initializers listed there too (torch.onnx's keep_initializers_as_inputs, IR 3
 * exporters): a caller could feed other weights through them, so the rewrite driver leaves such weights alone. No one
 * runs a model that way for inference; the values stay initializers. IR < 4 requires the listing, so those models keep
 * it. Returns how many inputs were dropped.
 */
export function dropInitializerInputs(model: Model): number {
  if ((model.irVersion ?? 0) < 4) return 0;
  const g = model.graph;
  const before = g.inputs.length;
  g.inputs = g.inputs.filter((v) => !v.initializer);
  return before - g.inputs.length;
}
