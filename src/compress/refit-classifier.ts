import type { CalibrationSet } from '../calib/types.js';
import { captureBatches } from '../fit/capture.js';
import { convError, convMoments, fitConv } from '../fit/conv-fit.js';
import { collectLayerStats } from '../fit/patch-stats.js';
import { convGeometry } from '../ir/conv.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';

export interface ClassifierRefit {
  node: string;
  /** Relative error of the logits on the fitting samples, with the weights before and after the refit. */
  errorBefore: number;
  errorAfter: number;
  applied: boolean;
}

/**
 * Closed-form refit of the final classifier (a Gemm producing a graph output, constant weight and bias) so that the
 * student's logits match the teacher's on the fitting samples: least squares of the teacher's logits on the student's
 * features, from statistics summed on onnxruntime (the features as a 1×1 "conv"). Applied only when it helps.
 */
export async function refitClassifier(teacher: Model, student: Model, calib: CalibrationSet, options: { threads?: number; batchSize?: number } = {}): Promise<ClassifierRefit | undefined> {
  const gemm = finalGemm(student);
  if (!gemm) return undefined;
  const [a, b, c] = gemm.node.inputs;
  const transB = gemm.node.getInt('transB', 0) === 1;
  const [k, f] = transB ? b!.initializer!.dims : [...b!.initializer!.dims].reverse();
  const output = gemm.node.outputs[0]!.name;
  const pairs = (async function* () {
    const captures = { x: { model: student, value: a!.name }, y: { model: teacher, value: output } };
    for await (const { x, y } of captureBatches(calib, captures, { threads: options.threads, batchSize: options.batchSize ?? 64 })) {
      yield { x: { data: x.data, dims: [x.dims[0], f, 1, 1] }, y: { data: y.data, dims: [y.dims[0], k, 1, 1] } };
    }
  })();
  const geometry = convGeometry(gemm.node, [k, f, 1, 1]);
  const stats = await collectLayerStats(pairs, { cin: f, cout: k, geometry: { ...geometry, kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1 } }, { threads: options.threads, where: gemm.label });
  const m = convMoments(stats);
  const b0 = b!.initializer!.toFloat32();
  const current = transB ? b0 : Float32Array.from({ length: k * f }, (_, i) => b0[(i % f) * k + Math.floor(i / f)]);
  const bias = c!.initializer!.toFloat32();
  const fitted = fitConv(m);
  const before = convError(m, current, bias), after = convError(m, fitted.weight, fitted.bias);
  const applied = after < before;
  if (applied) {
    const w = b!.initializer!.data as Float32Array;
    for (let o = 0; o < k; o++) for (let i = 0; i < f; i++) w[transB ? o * f + i : i * k + o] = fitted.weight[o * f + i];
    (c!.initializer!.data as Float32Array).set(fitted.bias);
  }
  return { node: gemm.label, errorBefore: before, errorAfter: after, applied };
}

function finalGemm(model: Model): { node: Node; label: string } | undefined {
  for (const out of model.graph.outputs) {
    const node = out.producer;
    if (node?.opType !== 'Gemm' || node.getInt('transA', 0) !== 0) continue;
    if (node.getFloat('alpha', 1) !== 1 || node.getFloat('beta', 1) !== 1) continue;
    const [, b, c] = node.inputs;
    // A bias of one value per class is needed to hold the refit's bias; weights must be this node's own.
    if (!b?.isConstant || !c?.isConstant || b.uses.length !== 1 || c.uses.length !== 1) continue;
    if (b.initializer!.dataType !== DataType.FLOAT || c.initializer!.dataType !== DataType.FLOAT) continue;
    if (c.initializer!.size !== (node.getInt('transB', 0) ? b.initializer!.dims[0] : b.initializer!.dims[1])) continue;
    return { node, label: node.label };
  }
  return undefined;
}

