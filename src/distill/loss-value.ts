import { onnxOpset, type Model } from '../ir/model.js';

/** The value the distillation loss reads, and why it is not the graph output itself when it is not. */
export interface LossValue {
  value: string;
  note?: string;
}

/**
 * The value the distillation loss compares for graph output `output`: the output itself, except that one made by a
 * Softmax or LogSoftmax over the last axis is read before it (the logits). The KL loss applies its own tempered softmax;
 * on probabilities it would soften a softmax of a softmax, whose near-saturated values carry almost no gradient. The
 * logits must exist under the same name in the teacher.
 */
export function lossValue(teacher: Model, student: Model, output: string): LossValue {
  const producer = student.graph.lookup(output)?.producer;
  if (producer?.opType !== 'Softmax' && producer?.opType !== 'LogSoftmax') return { value: output };
  const rank = producer.outputs[0]!.shape?.length;
  const axis = producer.getInt('axis', (onnxOpset(student) ?? 13) >= 13 ? -1 : 1);
  const logits = producer.inputs[0]?.name;
  if (!(axis === -1 || (rank !== undefined && axis === rank - 1)) || !logits || !teacher.graph.lookup(logits)) return { value: output };
  return { value: logits, note: `the logits "${logits}" before the ${producer.opType} making output "${output}"` };
}
