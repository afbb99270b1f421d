import { dampedFactor } from '../fit/cholesky.js';

/** Samples in float64, row-major: features x (count × f) and targets y (count × k). */
export interface Samples {
  x: Float64Array;
  y: Float64Array;
  count: number;
  f: number;
  k: number;
}

/** An affine map of features to targets: weight k × f (row-major), bias k. */
export interface Affine {
  weight: Float64Array;
  bias: Float64Array;
}

/**
 * Ridge least squares of the targets on the features over the rows `train`, for each relative ridge λ (δ = λ times the
 * mean eigenvalue of the centered features' covariance, as `solveDamped` reads a damping): the affine maps and their
 * predictions on other rows. Solved in the smaller of two equal forms: primal, (XᵀX + δI) W = XᵀY with f unknowns per
 * target; dual, W = Xᵀ(XXᵀ + δI)⁻¹Y with one unknown per training row, where the rows are fewer than the features (a
 * 2048-feature head fitted on tens of samples: a rows² system instead of a 2048² one).
 */
export function ridgeRegressions(s: Samples, train: readonly number[], ridges: readonly number[]): { fit(ridge: number): Affine; predict(rows: readonly number[]): Float64Array[] } {
  const { f, k } = s;
  const r = train.length;
  const meanX = columnMeans(s.x, f, train);
  const meanY = columnMeans(s.y, k, train);
  const xc = centered(s.x, f, train, meanX);
  const yc = centered(s.y, k, train, meanY);
  let trace = 0;
  for (const v of xc) trace += v * v;
  const affine = (weightOf: (o: number, i: number) => number): Affine => {
    const weight = new Float64Array(k * f);
    const bias = Float64Array.from(meanY);
    for (let o = 0; o < k; o++)
      for (let i = 0; i < f; i++) {
        weight[o * f + i] = weightOf(o, i);
        bias[o] -= weight[o * f + i] * meanX[i];
      }
    return { weight, bias };
  };
  if (r >= f) {
    const [xtx, xty] = [gram(xc, r, f, true), product(xc, yc, r, f, k)];
    const solutions = new Map(ridges.map((ridge) => [ridge, solve(xtx, xty, f, ridge, trace)]));
    const fit = (ridge: number) => affine((o, i) => solutions.get(ridge)![i * k + o]);
    return { fit, predict: (rows) => ridges.map((ridge) => predictAffine(s, rows, fit(ridge))) };
  }
  // dual: α = (XXᵀ + δI)⁻¹Y (r × k), W = αᵀX; a prediction is ȳ + (x − x̄)ᵀ Xᵀ α
  const kernel = gram(xc, r, f, false);
  const alphas = new Map(ridges.map((ridge) => [ridge, solve(kernel, yc, r, (ridge * r) / f, trace)]));
  const fit = (ridge: number) => {
    const alpha = alphas.get(ridge)!;
    return affine((o, i) => {
      let v = 0;
      for (let t = 0; t < r; t++) v += alpha[t * k + o] * xc[t * f + i];
      return v;
    });
  };
  const predict = (rows: readonly number[]) => {
    const dots = new Float64Array(rows.length * r); // (x − x̄)ᵀ x_t for each row and training row t, shared by every ridge
    rows.forEach((row, q) => {
      for (let t = 0; t < r; t++) {
        let dot = 0;
        for (let i = 0; i < f; i++) dot += (s.x[row * f + i] - meanX[i]) * xc[t * f + i];
        dots[q * r + t] = dot;
      }
    });
    return ridges.map((ridge) => {
      const alpha = alphas.get(ridge)!;
      const out = new Float64Array(rows.length * k);
      for (let q = 0; q < rows.length; q++) {
        out.set(meanY, q * k);
        for (let t = 0; t < r; t++) {
          const dot = dots[q * r + t];
          for (let o = 0; o < k; o++) out[q * k + o] += dot * alpha[t * k + o];
        }
      }
      return out;
    });
  };
  return { fit, predict };
}

/** Σ‖ŷ − y‖² and Σ‖y − ȳ‖² (ȳ the rows' own mean) over the rows: the relative error is their ratio. */
export function predictionError(s: Samples, rows: readonly number[], predicted: Float64Array): { error: number; spread: number } {
  const { k } = s;
  const mean = columnMeans(s.y, k, rows);
  let error = 0, spread = 0;
  rows.forEach((row, q) => {
    for (let o = 0; o < k; o++) {
      const y = s.y[row * k + o];
      error += (predicted[q * k + o] - y) ** 2;
      spread += (y - mean[o]) ** 2;
    }
  });
  return { error, spread };
}

/** The predictions of an affine map on the rows, rows × k. */
export function predictAffine(s: Samples, rows: readonly number[], { weight, bias }: { weight: ArrayLike<number>; bias: ArrayLike<number> }): Float64Array {
  const { f, k } = s;
  const out = new Float64Array(rows.length * k);
  rows.forEach((row, q) => {
    for (let o = 0; o < k; o++) {
      let v = bias[o];
      for (let i = 0; i < f; i++) v += weight[o * f + i] * s.x[row * f + i];
      out[q * k + o] = v;
    }
  });
  return out;
}

/** The damped solve with δ = λ·trace/f whatever the system's size n (solveDamped divides its damping's trace by n). */
function solve(m: Float64Array, b: Float64Array, n: number, damping: number, trace: number): Float64Array {
  const factor = trace > 0 ? dampedFactor(m, n, damping) : undefined;
  return factor ? factor(b) : new Float64Array(b.length);
}

function columnMeans(data: Float64Array, cols: number, rows: readonly number[]): Float64Array {
  const mean = new Float64Array(cols);
  for (const row of rows) for (let c = 0; c < cols; c++) mean[c] += data[row * cols + c] / rows.length;
  return mean;
}

function centered(data: Float64Array, cols: number, rows: readonly number[], mean: Float64Array): Float64Array {
  const out = new Float64Array(rows.length * cols);
  rows.forEach((row, q) => {
    for (let c = 0; c < cols; c++) out[q * cols + c] = data[row * cols + c] - mean[c];
  });
  return out;
}

/** XᵀX (f × f) when `features`, else XXᵀ (r × r), for X r × f. */
function gram(x: Float64Array, r: number, f: number, features: boolean): Float64Array {
  if (features) return product(x, x, r, f, f);
  const out = new Float64Array(r * r);
  for (let a = 0; a < r; a++)
    for (let b = 0; b <= a; b++) {
      let v = 0;
      for (let i = 0; i < f; i++) v += x[a * f + i] * x[b * f + i];
      out[a * r + b] = out[b * r + a] = v;
    }
  return out;
}

/** XᵀY (f × k) for X r × f and Y r × k. */
function product(x: Float64Array, y: Float64Array, r: number, f: number, k: number): Float64Array {
  const out = new Float64Array(f * k);
  for (let t = 0; t < r; t++)
    for (let i = 0; i < f; i++) {
      const v = x[t * f + i];
      if (v !== 0) for (let o = 0; o < k; o++) out[i * k + o] += v * y[t * k + o];
    }
  return out;
}
