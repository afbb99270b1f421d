import type { CalibrationSet } from '../calib/types.js';
import { captureBatches } from '../runtime/capture.js';
import { convError, convMoments, fitConv } from '../fit/conv-fit.js';
import { collectLayerStats, emptyPatchStats } from '../fit/patch-stats.js';
import type { PatchStats } from '../rewrite/fit-contract.js';
import { convGeometry } from '../ir/conv.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';

export interface ClassifierRefit {
  node: string;
  /**
   * Relative error of the logits on samples the refit was not fitted on (see `checkedOn`), with the weights before and
   * after the refit; NaN when the refit was declined before it was measured.
   */
  errorBefore: number;
  errorAfter: number;
  /** 'validation': fitted on the fitting samples, measured on the validation split; 'cross-validation': k-fold on the fitting samples. */
  checkedOn: 'validation' | 'cross-validation' | 'none';
  /** The ridge chosen (δ relative to the mean eigenvalue of the features' covariance, see solveDamped). */
  ridge: number;
  applied: boolean;
  /** Why the refit was applied or declined. */
  reason: string;
}

/** Ridges tried, relative to the mean eigenvalue: the refit has C_in + 1 unknowns per class and few samples to fit them. */
const RIDGES = [1e-3, 1e-2, 1e-1, 1];
/** Folds of the cross-validation used when there is no validation split. */
const FOLDS = 4;

/**
 * Closed-form refit of the final classifier (a Gemm producing a graph output, constant weight and bias) so that the
 * student's logits match the teacher's: ridge-regularized least squares of the teacher's logits on the student's
 * features, from statistics summed on onnxruntime (the features as a 1×1 "conv"). A least-squares head with C_in + 1
 * unknowns per class fits a few samples exactly and generalizes badly, so the refit is judged only on samples it was
 * not fitted on: the validation split when there is one, else a k-fold cross-validation of the fitting samples; it is
 * applied only when it lowers that error.
 */
export async function refitClassifier(teacher: Model, student: Model, data: { fit: CalibrationSet; validation: CalibrationSet }, options: { threads?: number; batchSize?: number } = {}): Promise<ClassifierRefit | undefined> {
  const gemm = finalGemm(student);
  if (!gemm) return undefined;
  const [, b, c] = gemm.node.inputs;
  const transB = gemm.node.getInt('transB', 0) === 1;
  const [k, f] = transB ? b!.initializer!.dims : [...b!.initializer!.dims].reverse();
  const b0 = b!.initializer!.toFloat32();
  const current = { weight: transB ? b0 : Float32Array.from({ length: k * f }, (_, i) => b0[(i % f) * k + Math.floor(i / f)]), bias: c!.initializer!.toFloat32() };
  const statsOf = (calib: CalibrationSet) => gemmStats(teacher, student, gemm, calib, { k, f }, options);
  const result = (checkedOn: ClassifierRefit['checkedOn'], ridge: number, errorBefore: number, errorAfter: number, reason: string, applied: boolean): ClassifierRefit => ({ node: gemm.label, errorBefore, errorAfter, checkedOn, ridge, applied, reason });

  let choice: { ridge: number; before: number; after: number; checkedOn: 'validation' | 'cross-validation' };
  let fitStats: PatchStats;
  if (data.validation.count > 0) {
    fitStats = await statsOf(data.fit);
    const fitMoments = convMoments(fitStats), check = convMoments(await statsOf(data.validation));
    const errors = RIDGES.map((ridge) => { const w = fitConv(fitMoments, { damping: ridge }); return convError(check, w.weight, w.bias); });
    choice = { ...best(errors), before: convError(check, current.weight, current.bias), checkedOn: 'validation' };
  } else {
    const folds = Math.min(FOLDS, data.fit.count);
    if (folds < 2) return result('none', NaN, NaN, NaN, `declined: ${data.fit.count} fitting sample, too few to check the refit on samples it was not fitted on`, false);
    const parts: PatchStats[] = [];
    for (let i = 0; i < folds; i++) parts.push(await statsOf(data.fit.subset(Array.from({ length: data.fit.count }, (_, j) => j).filter((j) => j % folds === i))));
    fitStats = sumStats(parts);
    const checks = parts.map((p) => ({ train: convMoments(subtractStats(fitStats, p)), test: convMoments(p) }));
    // Summed over folds, weighted by each fold's spread: the relative error of the pooled held-out logits.
    const pooled = (error: (fold: (typeof checks)[number]) => number) => {
      let e = 0, s = 0;
      for (const fold of checks) { const spread = fold.test.yy.reduce((a, v) => a + v, 0); e += error(fold) * spread; s += spread; }
      return s > 0 ? e / s : 0;
    };
    const errors = RIDGES.map((ridge) => pooled((fold) => { const w = fitConv(fold.train, { damping: ridge }); return convError(fold.test, w.weight, w.bias); }));
    choice = { ...best(errors), before: pooled((fold) => convError(fold.test, current.weight, current.bias)), checkedOn: 'cross-validation' };
  }
  const where = choice.checkedOn === 'validation' ? `on ${data.validation.count} validation samples` : `by ${Math.min(FOLDS, data.fit.count)}-fold cross-validation of ${data.fit.count} fitting samples`;
  if (!(choice.after < choice.before)) return result(choice.checkedOn, choice.ridge, choice.before, choice.after, `declined: the refit does not lower the logit error ${where}`, false);
  const fitted = fitConv(convMoments(fitStats), { damping: choice.ridge });
  const w = b!.initializer!.data as Float32Array;
  for (let o = 0; o < k; o++) for (let i = 0; i < f; i++) w[transB ? o * f + i : i * k + o] = fitted.weight[o * f + i];
  (c!.initializer!.data as Float32Array).set(fitted.bias);
  return result(choice.checkedOn, choice.ridge, choice.before, choice.after, `applied: lowers the logit error ${where}`, true);
}

function best(errors: number[]): { ridge: number; after: number } {
  let i = 0;
  for (let j = 1; j < errors.length; j++) if (errors[j] < errors[i]) i = j;
  return { ridge: RIDGES[i], after: errors[i] };
}

/** Statistics of the Gemm's input features (student) against the teacher's logits, over `calib`. */
async function gemmStats(teacher: Model, student: Model, gemm: { node: Node; label: string }, calib: CalibrationSet, { k, f }: { k: number; f: number }, options: { threads?: number; batchSize?: number }): Promise<PatchStats> {
  const captures = { x: { model: student, value: gemm.node.inputs[0]!.name }, y: { model: teacher, value: gemm.node.outputs[0]!.name } };
  const pairs = (async function* () {
    for await (const { x, y } of captureBatches(calib, captures, { threads: options.threads, batchSize: options.batchSize ?? 64 })) {
      yield { x: { data: x.data, dims: [x.dims[0], f, 1, 1] }, y: { data: y.data, dims: [y.dims[0], k, 1, 1] } };
    }
  })();
  const geometry = convGeometry(gemm.node, [k, f, 1, 1]);
  return collectLayerStats(pairs, { cin: f, cout: k, geometry: { ...geometry, kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1 } }, { threads: options.threads, where: gemm.label });
}

function sumStats(parts: PatchStats[]): PatchStats {
  const out = emptyPatchStats(parts[0].cin, parts[0].k2, parts[0].cout);
  for (const p of parts) {
    for (let i = 0; i < out.xx.length; i++) out.xx[i] += p.xx[i];
    for (let i = 0; i < out.xy.length; i++) out.xy[i] += p.xy[i];
    for (let i = 0; i < out.yy.length; i++) out.yy[i] += p.yy[i];
    out.count += p.count;
  }
  return out;
}

function subtractStats(total: PatchStats, part: PatchStats): PatchStats {
  return { ...total, xx: total.xx.map((v, i) => v - part.xx[i]), xy: total.xy.map((v, i) => v - part.xy[i]), yy: total.yy.map((v, i) => v - part.yy[i]), count: total.count - part.count };
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

