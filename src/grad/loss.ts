import { ftmError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';
import type { Emitter } from './emitter.js';
import type { StaticShape, TrainingGraphOptions } from './types.js';

/** The static shape of a value the loss reads: its rank at least must be known to differentiate the loss. */
function knownShape(v: Value, shape: (v: Value) => StaticShape): (number | null)[] {
  const s = shape(v);
  if (!s) throw ftmError('E_UNSUPPORTED', `the rank of "${v.name}" is unknown (no shape in the model, none inferred): the loss cannot be built on it`);
  return s;
}

/** A new float graph input for the teacher's counterpart of a student value, of its shape (the batch dim as N). */
function teacherInput(graph: Graph, name: string, shape: (number | null)[]): Value {
  const v = graph.define(name);
  v.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: shape.map((d, i) => (d !== null ? { value: d } : i === 0 ? { param: 'N' } : {})) };
  graph.inputs.push(v);
  return v;
}

/** mean((s − t)²) over every element: a scalar. */
function meanSquaredError(e: Emitter, s: Value, t: Value, rank: number): Value {
  const d = e.op('Sub', [s, t]);
  return e.reduceMean(e.op('Mul', [d, d]), Array.from({ length: rank }, (_, i) => i), false);
}

/**
 * T²·mean over the batch of KL(softmax(t/T) ‖ softmax(s/T)) = Σ_c p_c·(log p_c − log q_c), on [batch, classes] logits.
 * The T² keeps the gradient's scale independent of the temperature (Hinton et al. 2015).
 */
function distillationKl(e: Emitter, s: Value, t: Value, temperature: number): Value {
  const inv = e.scalar(1 / temperature);
  const logQ = e.op('LogSoftmax', [e.op('Mul', [s, inv])], { axis: 1 });
  const logP = e.op('LogSoftmax', [e.op('Mul', [t, inv])], { axis: 1 });
  const perSample = e.reduceSum(e.op('Mul', [e.op('Exp', [logP]), e.op('Sub', [logP, logQ])]), [1], false);
  return e.op('Mul', [e.reduceMean(perSample, [0], false), e.scalar(temperature * temperature)]);
}

/**
 * Appends the distillation loss to the student graph: the output term against graph input `teacher`, plus
 * weight·MSE for each feature term against `teacher:<value>`. Returns the scalar loss value.
 */
export function appendLoss(e: Emitter, output: Value, options: TrainingGraphOptions, shape: (v: Value) => StaticShape): Value {
  const graph = e.graph;
  const outShape = knownShape(output, shape);
  const teacher = teacherInput(graph, 'teacher', outShape);
  let loss: Value;
  if (options.loss.kind === 'kl') {
    if (outShape.length !== 2) {
      throw ftmError('E_USAGE', `the KL distillation loss needs [batch, classes] logits, output "${output.name}" has rank ${outShape.length}: use the MSE loss`);
    }
    loss = distillationKl(e, output, teacher, options.loss.temperature);
  } else {
    loss = meanSquaredError(e, output, teacher, outShape.length);
  }
  for (const f of options.features ?? []) {
    const v = graph.lookup(f.value)!;
    const vShape = knownShape(v, shape);
    const term = meanSquaredError(e.at(`loss/${f.value}`), v, teacherInput(graph, `teacher:${f.value}`, vShape), vShape.length);
    loss = e.op('Add', [loss, e.op('Mul', [term, e.scalar(f.weight)])]);
  }
  return loss;
}
