import { describe, expect, it } from 'vitest';
import { predictAffine, ridgeRegressions, type Samples } from '../src/compress/ridge-regression.js';
import { solveDamped } from '../src/fit/cholesky.js';
import { randomFloats } from './helpers/build.js';

/** The primal normal equations built here in float64: W = (XcᵀXc + δI)⁻¹XcᵀYc with δ = λ·trace/f, b = ȳ − W x̄. */
function reference(s: Samples, train: number[], ridge: number) {
  const { f, k } = s;
  const mean = (data: Float64Array, cols: number) => Array.from({ length: cols }, (_, c) => train.reduce((a, row) => a + data[row * cols + c], 0) / train.length);
  const [mx, my] = [mean(s.x, f), mean(s.y, k)];
  const xtx = new Float64Array(f * f), xty = new Float64Array(f * k);
  for (const row of train)
    for (let i = 0; i < f; i++) {
      const xi = s.x[row * f + i] - mx[i];
      for (let j = 0; j < f; j++) xtx[i * f + j] += xi * (s.x[row * f + j] - mx[j]);
      for (let o = 0; o < k; o++) xty[i * k + o] += xi * (s.y[row * k + o] - my[o]);
    }
  const wt = solveDamped(xtx, xty, f, ridge);
  const weight = Float64Array.from({ length: k * f }, (_, e) => wt[(e % f) * k + Math.floor(e / f)]);
  const bias = Float64Array.from(my, (v, o) => v - mx.reduce((a, m, i) => a + weight[o * f + i] * m, 0));
  return { weight, bias };
}

const maxRelative = (got: Float64Array, want: Float64Array) => {
  const scale = want.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
  return got.reduce((x, g, i) => Math.max(x, Math.abs(g - want[i])), 0) / scale;
};

describe('ridgeRegressions', () => {
  // 40 features: 25 training rows take the dual form (a 25² system), 90 the primal one (40²)
  it.each([25, 90])('%i training rows: the fit equals the primal normal equations, and predictions equal the fit applied', (rows) => {
    const [f, k, count] = [40, 7, rows + 10];
    const x = Float64Array.from(randomFloats(count * f, rows), (v, i) => v + (i % f) * 0.1); // features with means, as post-ReLU ones
    const y = Float64Array.from(randomFloats(count * k, rows + 1));
    const s: Samples = { x, y, count, f, k };
    const train = Array.from({ length: rows }, (_, i) => i);
    const test = Array.from({ length: 10 }, (_, i) => rows + i);
    const ridges = [1e-3, 1];
    const regressions = ridgeRegressions(s, train, ridges);
    const predictions = regressions.predict(test);
    ridges.forEach((ridge, i) => {
      const fit = regressions.fit(ridge);
      const want = reference(s, train, ridge);
      expect(maxRelative(fit.weight, want.weight)).toBeLessThan(1e-9);
      expect(maxRelative(fit.bias, want.bias)).toBeLessThan(1e-9);
      expect(maxRelative(predictions[i], predictAffine(s, test, fit))).toBeLessThan(1e-9);
    });
    // a larger ridge shrinks the weights
    const norm = (w: Float64Array) => Math.hypot(...w);
    expect(norm(regressions.fit(1).weight)).toBeLessThan(norm(regressions.fit(1e-3).weight));
  });
});
