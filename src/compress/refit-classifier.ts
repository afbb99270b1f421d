import type { CalibrationSet } from '../calib/types.js';
import { captureBatches } from '../runtime/capture.js';
import { predictAffine, predictionError, ridgeRegressions, type Samples } from './ridge-regression.js';
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
 * features, captured per sample (ridgeRegressions: a system of one unknown per sample where samples are fewer than
 * features). A least-squares head with C_in + 1
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
  const result = (checkedOn: ClassifierRefit['checkedOn'], ridge: number, errorBefore: number, errorAfter: number, reason: string, applied: boolean): ClassifierRefit => ({ node: gemm.label, errorBefore, errorAfter, checkedOn, ridge, applied, reason });

  const fitCount = data.fit.count;
  const folds = Math.min(FOLDS, fitCount);
  if (data.validation.count === 0 && folds < 2) return result('none', NaN, NaN, NaN, `declined: ${fitCount} fitting sample, too few to check the refit on samples it was not fitted on`, false);
  // the validation samples follow the fitting ones
  const samples = await headSamples(teacher, student, gemm.node, [data.fit, data.validation], { k, f }, options);
  const fitRows = range(0, fitCount);
  // each check: fitted on `train`, measured on `test`; the pooled relative error sums errors and spreads over checks
  const checks = data.validation.count > 0 ? [{ train: fitRows, test: range(fitCount, samples.count) }] : range(0, folds).map((i) => ({ train: fitRows.filter((j) => j % folds !== i), test: fitRows.filter((j) => j % folds === i) }));
  const errors = new Float64Array(RIDGES.length);
  let before = 0, spread = 0;
  for (const { train, test } of checks) {
    const predictions = ridgeRegressions(samples, train, RIDGES).predict(test);
    predictions.forEach((p, i) => (errors[i] += predictionError(samples, test, p).error));
    const now = predictionError(samples, test, predictAffine(samples, test, current));
    before += now.error;
    spread += now.spread;
  }
  const relative = (error: number) => (spread > 0 ? error / spread : error > 0 ? Infinity : 0);
  const chosen = errors.indexOf(Math.min(...errors));
  const choice = { ridge: RIDGES[chosen], before: relative(before), after: relative(errors[chosen]), checkedOn: data.validation.count > 0 ? ('validation' as const) : ('cross-validation' as const) };
  const where = choice.checkedOn === 'validation' ? `on ${data.validation.count} validation samples` : `by ${folds}-fold cross-validation of ${fitCount} fitting samples`;
  if (!(choice.after < choice.before)) return result(choice.checkedOn, choice.ridge, choice.before, choice.after, `declined: the refit does not lower the logit error ${where}`, false);
  const fitted = ridgeRegressions(samples, fitRows, [choice.ridge]).fit(choice.ridge);
  const w = b!.initializer!.data as Float32Array;
  for (let o = 0; o < k; o++) for (let i = 0; i < f; i++) w[transB ? o * f + i : i * k + o] = fitted.weight[o * f + i];
  (c!.initializer!.data as Float32Array).set(fitted.bias);
  return result(choice.checkedOn, choice.ridge, choice.before, choice.after, `applied: lowers the logit error ${where}`, true);
}

/** The Gemm's input features (student) and the teacher's logits per sample, over the calibration sets in turn. */
async function headSamples(teacher: Model, student: Model, gemm: Node, sets: CalibrationSet[], { k, f }: { k: number; f: number }, options: { threads?: number; batchSize?: number }): Promise<Samples> {
  const count = sets.reduce((n, set) => n + set.count, 0);
  const samples: Samples = { x: new Float64Array(count * f), y: new Float64Array(count * k), count, f, k };
  const captures = { x: { model: student, value: gemm.inputs[0]!.name }, y: { model: teacher, value: gemm.outputs[0]!.name } };
  let row = 0;
  for (const set of sets) {
    if (set.count === 0) continue;
    for await (const { x, y } of captureBatches(set, captures, { threads: options.threads, batchSize: options.batchSize ?? 64 })) {
      samples.x.set(x.data, row * f);
      samples.y.set(y.data, row * k);
      row += x.dims[0];
    }
  }
  return samples;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

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

