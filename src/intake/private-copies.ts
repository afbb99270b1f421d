import type { Graph } from '../ir/graph.js';
import { isFloatType } from '../ir/dtype.js';
import type { Use } from '../ir/value.js';

/** Input slots that hold a layer's own weights: what a rule replaces, so it must not be shared with another reader. */
const WEIGHT_SLOTS: Record<string, number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [1, 2],
  MatMul: [1],
  BatchNormalization: [1, 2, 3, 4],
};

const isWeightSlot = (u: Use) => u.node.isOnnxDomain && (WEIGHT_SLOTS[u.node.opType]?.includes(u.index) ?? false);

/**
 * Gives each layer reading a shared float constant as its weight or bias its own copy, so that a rule may rewrite that
 * layer (the driver refuses constants shared outside a match). The first reader keeps the original when every reader
 * is a layer; readers of other kinds always keep it. Returns how many copies were made: the parameter count counts
 * them, as the emitted file holds them.
 */
export function privateCopies(graph: Graph): number {
  let copies = 0;
  for (const v of [...graph.initializers]) {
    if (!v.isConstant || v.uses.length < 2 || !isFloatType(v.initializer!.dataType)) continue;
    const layers = v.uses.filter(isWeightSlot);
    const toCopy = layers.length === v.uses.length ? layers.slice(1) : layers;
    for (const use of toCopy) {
      const copy = graph.addInitializer(v.name, v.initializer!.clone());
      use.node.setInput(use.index, copy);
      copies++;
    }
  }
  return copies;
}
