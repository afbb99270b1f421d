import { describe, expect, it } from 'vitest';
import { KroneckerProducts } from '../src/index.js';
import { randomFloats } from './helpers/build.js';

/** A (p_j ⊗ I) and (I ⊗ d_j)ᵀ A (p_j ⊗ d_j) straight from their definition, entry c·t + κ = channel c at tap κ. */
function reference(a: Float64Array, p: Float64Array, d: Float64Array, n: number, t: number, m: number) {
  const k = n * t;
  const columns = new Float64Array(k * t * m);
  const contracted = new Float64Array(n * m);
  for (let j = 0; j < m; j++) {
    const w = new Float64Array(k);
    for (let c = 0; c < n; c++) for (let tap = 0; tap < t; tap++) w[c * t + tap] = p[c * m + j] * d[tap * m + j];
    for (let r = 0; r < k; r++) {
      for (let tap = 0; tap < t; tap++) {
        let v = 0;
        for (let c = 0; c < n; c++) v += a[r * k + c * t + tap] * p[c * m + j];
        columns[(r * t + tap) * m + j] = v;
      }
      let aw = 0;
      for (let i = 0; i < k; i++) aw += a[r * k + i] * w[i];
      contracted[Math.floor(r / t) * m + j] += d[(r % t) * m + j] * aw;
    }
  }
  return { columns, contracted };
}

const maxRelative = (got: Float64Array, want: Float64Array) => {
  const scale = want.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
  return got.reduce((x, g, i) => Math.max(x, Math.abs(g - want[i])), 0) / scale;
};

describe('KroneckerProducts', () => {
  // 36·9 = 324 entries: 50 pairs stay in TypeScript, 700 pairs (K²·m ≥ 2^26) run on onnxruntime
  it.each([50, 700])('%i pairs: both products equal their definition in float64', async (m) => {
    const [n, t] = [36, 9];
    const k = n * t;
    const half = Float64Array.from(randomFloats(k * k, 1));
    const a = new Float64Array(k * k).map((_, i) => half[i] + half[(i % k) * k + Math.floor(i / k)]);
    const p = Float64Array.from(randomFloats(n * m, 2));
    const d = Float64Array.from(randomFloats(t * m, 3));
    const products = KroneckerProducts.create(a, n, t, { threads: 1 });
    try {
      const got = await products.products(p, d, { columns: true, contracted: true });
      const want = reference(a, p, d, n, t, m);
      expect(maxRelative(got.columns!, want.columns)).toBeLessThan(1e-12);
      expect(maxRelative(got.contracted!, want.contracted)).toBeLessThan(1e-12);
      const only = await products.products(p, d, { contracted: true });
      expect(only.columns).toBeUndefined();
      expect(Array.from(only.contracted!)).toEqual(Array.from(got.contracted!));
    } finally {
      await products.release();
    }
  });
});
