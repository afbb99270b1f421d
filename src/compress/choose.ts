import type { HeldOutScore } from '../distill/held-out.js';
import type { Model } from '../ir/model.js';

export type StudentChoice = 'distilled' | 'closed-form';

/**
 * Distillation proposes, the validation samples decide: the distilled parameters are kept only when their loss on the
 * validation samples (which neither the closed-form fits nor training saw) is lower than the closed-form fit's. The
 * loss, not top-1 agreement: on a few dozen samples agreement moves in steps of several percent, the loss is
 * continuous. A tie keeps the closed-form fit, which needs no argument.
 */
export function chooseStudent(closedForm: HeldOutScore, distilled: HeldOutScore): StudentChoice {
  return distilled.loss < closedForm.loss ? 'distilled' : 'closed-form';
}

/** The data of `names` (initializers of `model`), copied, and a function that writes it back. */
export function snapshotInitializers(model: Model, names: readonly string[]): () => void {
  const saved = names.map((name) => {
    const tensor = model.graph.lookup(name)!.initializer!;
    return { tensor, data: tensor.toFloat32().slice() };
  });
  return () => {
    for (const { tensor, data } of saved) tensor.data = data;
  };
}
