import { ftmError } from '../errors.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import { isComputed } from '../graph/computed.js';
import { feedAsInput } from '../graph/feed-as-input.js';
import { toposort } from '../graph/toposort.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { onnxOpset, type Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { cloneModel } from '../ir/clone.js';
import { appendBackward } from './backward.js';
import { Emitter } from './emitter.js';
import { ForwardInfo } from './forward-info.js';
import { appendLoss } from './loss.js';
import type { TrainingGraph, TrainingGraphOptions } from './types.js';

/**
 * The opsets whose operators the rules read and emit. Below 11, Clip's bounds, Pad's pads and Resize's inputs were
 * attributes the rules do not handle; above 22, operators have not been checked.
 */
export const GRAD_OPSETS = { min: 11, max: 22 } as const;

/**
 * The student's training graph: forward, distillation loss and backward pass as one ONNX model, so that one
 * onnxruntime session serves every step. The trainables become graph inputs (fed each step, no session rebuild); the
 * outputs are the loss and one gradient per trainable that can get one. A trainable whose path to the loss crosses a
 * node the engine cannot differentiate stays a constant and is listed in `frozen` with the node named; the others
 * still train. Forward branches that neither the loss nor a gradient needs are pruned.
 */
export function buildTrainingGraph(student: Model, options: TrainingGraphOptions): TrainingGraph {
  const opset = onnxOpset(student);
  if (opset === undefined || opset < GRAD_OPSETS.min || opset > GRAD_OPSETS.max) {
    throw ftmError('E_UNSUPPORTED', `gradients are built for ONNX opsets ${GRAD_OPSETS.min} to ${GRAD_OPSETS.max}, the model imports opset ${opset ?? '(none)'}`, student.path);
  }
  checkOptions(student, options);
  const model = cloneModel(student);
  const graph = model.graph;
  toposort(graph);
  const reserved = ['loss', 'teacher', ...(options.features ?? []).map((f) => `teacher:${f.value}`), ...options.trainable.map((n) => `grad:${n}`)];
  for (const name of reserved) freeName(graph, name, student.path);

  const output = graph.lookup(options.output ?? graph.outputs[0].name)!;
  const studentShapes = new ForwardInfo(graph, opset, options.shapes);
  const loss = appendLoss(new Emitter(graph, opset, 'loss'), output, options, (v) => studentShapes.shape(v));
  const { grads, frozen } = appendBackward(graph, loss, options.trainable.map((n) => graph.lookup(n)!), new ForwardInfo(graph, opset, options.shapes));

  for (const t of grads.keys()) feedAsInput(graph, t);
  graph.rename(loss, 'loss');
  loss.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [] };
  graph.outputs = [loss, ...[...grads].map(([t, g]) => namedOutput(graph, g, `grad:${t.name}`, t))];
  removeDeadNodes(graph);
  toposort(graph);
  return {
    model,
    trainable: [...grads.keys()].map((t) => t.name),
    frozen: [...frozen].map(([t, reason]) => ({ name: t.name, reason })),
  };
}

function checkOptions(student: Model, options: TrainingGraphOptions): void {
  const graph = student.graph;
  const where = student.path;
  const seen = new Set<string>();
  for (const name of options.trainable) {
    const v = graph.lookup(name);
    if (seen.has(name)) throw ftmError('E_USAGE', `trainable "${name}" is listed twice`, where);
    seen.add(name);
    if (!v?.initializer) throw ftmError('E_USAGE', `expected trainable "${name}" to be an initializer of the main graph, found ${v ? 'a computed value' : 'nothing of that name'}`, where);
    if (v.initializer.dataType !== DataType.FLOAT) throw ftmError('E_UNSUPPORTED', `trainable "${name}" is not float32: only float32 parameters are trained`, where);
  }
  const output = options.output ?? graph.outputs[0]?.name;
  if (!output || !graph.lookup(output)) throw ftmError('E_USAGE', `the loss output "${output ?? ''}" is not a value of the model`, where);
  if (options.loss.kind === 'kl' && !(options.loss.temperature > 0 && Number.isFinite(options.loss.temperature))) {
    throw ftmError('E_USAGE', `expected the KL temperature to be a positive number, found ${options.loss.temperature}`, where);
  }
  for (const f of options.features ?? []) {
    if (!isComputed(graph, f.value)) throw ftmError('E_USAGE', `feature term "${f.value}" is not a computed value of the model`, where);
    if (!(f.weight >= 0 && Number.isFinite(f.weight))) throw ftmError('E_USAGE', `expected the weight of feature term "${f.value}" to be a non-negative number, found ${f.weight}`, where);
  }
}

/** Makes `name` free for the training graph's interface, renaming an internal student value that has it. */
function freeName(graph: Graph, name: string, where: string | undefined): void {
  const taken = graph.lookup(name);
  if (!taken) return;
  if (taken.isGraphInput) throw ftmError('E_NAME_TAKEN', `the student has an input named "${name}", a name the training graph needs for itself`, where);
  graph.rename(taken, graph.freshName(name));
  if (taken.initializer) taken.initializer.name = taken.name;
}

/** A graph output of that name holding `g`, through an Identity (one value may be the gradient of several trainables). */
function namedOutput(graph: Graph, g: Value, name: string, like: Value): Value {
  const out = graph.addNode({ op: 'Identity', inputs: [g], outputs: [name], name }).outputs[0]!;
  out.type = like.type;
  return out;
}
