import { describe, expect, it } from 'vitest';
import { symmetricEigen, truncatedSvd } from '../src/index.js';
import { randomFloats } from './helpers/build.js';

/** A·v − λ·v and VVᵀ − I, their largest entries. */
function residuals(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): { eigen: number; orthogonality: number } {
  let eigen = 0, orthogonality = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let av = 0, vv = 0;
      for (let j = 0; j < n; j++) {
        av += a[k * n + j] * vectors[i * n + j];
        vv += vectors[i * n + j] * vectors[k * n + j];
      }
      eigen = Math.max(eigen, Math.abs(av - values[i] * vectors[i * n + k]));
      orthogonality = Math.max(orthogonality, Math.abs(vv - (i === k ? 1 : 0)));
    }
  }
  return { eigen, orthogonality };
}

describe('symmetricEigen', () => {
  it.each([1, 2, 5, 64, 150])('n = %i: A·v = λ·v and orthonormal vectors, eigenvalues descending, on a scatter of lower rank', (n) => {
    // B·Bᵀ with B n × ⌈n/2⌉: positive semi-definite, half its eigenvalues (repeated) zero, as a low-rank scatter has
    const half = Math.ceil(n / 2);
    const b = randomFloats(n * half, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < half; k++) a[i * n + j] += b[i * half + k] * b[j * half + k];
    const { values, vectors } = symmetricEigen(a, n);
    const scale = Math.max(...values);
    const r = residuals(a, n, values, vectors);
    expect(r.eigen).toBeLessThan(1e-10 * scale);
    expect(r.orthogonality).toBeLessThan(1e-10);
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    expect(values.slice(half).every((v) => Math.abs(v) < 1e-10 * scale)).toBe(true);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(a.reduce((s, v, i) => s + (i % (n + 1) === 0 ? v : 0), 0), 8);
  });

  it('sorts a diagonal matrix and gives its unit vectors; a zero matrix gives zeros and the identity', () => {
    const diagonal = symmetricEigen([1, 0, 0, 0, 3, 0, 0, 0, 2], 3);
    expect(Array.from(diagonal.values)).toEqual([3, 2, 1]);
    expect(Array.from(diagonal.vectors).map(Math.abs)).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    const zero = symmetricEigen(new Float64Array(4), 2);
    expect(Array.from(zero.values)).toEqual([0, 0]);
    expect(residuals(new Float64Array(4), 2, zero.values, zero.vectors).orthogonality).toBe(0);
  });
});

describe('truncatedSvd', () => {
  it.each([
    [40, 12],
    [12, 40],
    [20, 20],
  ])('%i × %i of rank 3: the leading triplets rebuild it, orthonormal on both sides, values descending', (rows, cols) => {
    // M = Σ_k σ_k a_k b_kᵀ with σ = 5, 2, 1 on random (not orthogonal) directions: rank 3
    const a = randomFloats(3 * rows, rows), b = randomFloats(3 * cols, cols + 1);
    const m = new Float64Array(rows * cols);
    [5, 2, 1].forEach((sigma, k) => {
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m[i * cols + j] += sigma * a[k * rows + i] * b[k * cols + j];
    });
    const { u, s, v } = truncatedSvd(m, rows, cols, 4);
    expect(s.length).toBe(4);
    expect(s[3]).toBeLessThan(1e-6 * s[0]);
    for (let k = 1; k < 4; k++) expect(s[k]).toBeLessThanOrEqual(s[k - 1]);
    let rebuilt = 0, norm = 0;
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        let x = 0;
        for (let k = 0; k < 3; k++) x += s[k] * u[k * rows + i] * v[k * cols + j];
        rebuilt = Math.max(rebuilt, Math.abs(x - m[i * cols + j]));
        norm = Math.max(norm, Math.abs(m[i * cols + j]));
      }
    expect(rebuilt).toBeLessThan(1e-9 * norm);
    for (const [vecs, len] of [[u, rows], [v, cols]] as const)
      for (let k = 0; k < 3; k++)
        for (let l = 0; l < 3; l++) {
          let dot = 0;
          for (let i = 0; i < len; i++) dot += vecs[k * len + i] * vecs[l * len + i];
          expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-9);
        }
  });
});
