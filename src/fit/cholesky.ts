/**
 * Small dense symmetric solves for layer fitting, in float64: the normal equations of least-squares problems of size
 * C_in+1 or k² (tens to hundreds), where a direct Cholesky factorization is both the fastest and the most accurate way.
 */

/** Relative ridge added to the diagonal unless the caller says otherwise (see `solveDamped`). */
export const DEFAULT_DAMPING = 1e-6;

/**
 * Solves (M + δ·I) x = b for a symmetric positive semi-definite n×n matrix M (row-major; only the lower triangle is
 * read), with δ = damping · trace(M)/n: a ridge relative to the mean eigenvalue, so that directions the data never
 * excites (dead input channels, a constant channel that padding never distinguishes from the shift) get a zero
 * coefficient rather than an arbitrary one. If rounding still leaves a non-positive pivot, δ grows tenfold and the
 * factorization starts again. A zero matrix gives x = 0 (the minimum-norm solution).
 */
export function solveDamped(m: Float64Array, b: Float64Array, n: number, damping = DEFAULT_DAMPING): Float64Array {
  if (m.length !== n * n || b.length !== n) throw new RangeError(`solveDamped: expected a ${n}×${n} matrix and ${n} values, found ${m.length} and ${b.length}`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += m[i * n + i];
  if (!(trace > 0)) return new Float64Array(n);
  let delta = (damping * trace) / n;
  for (let attempt = 0; attempt < 30; attempt++, delta = Math.max(delta * 10, (1e-15 * trace) / n)) {
    const l = cholesky(m, n, delta);
    if (l) return substitute(l, b, n);
  }
  throw new RangeError('solveDamped: the matrix is not positive semi-definite (or holds NaN)');
}

/** Lower-triangular L with L·Lᵀ = M + δ·I, or undefined at a non-positive pivot. */
function cholesky(m: Float64Array, n: number, delta: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = m[rowJ + j] + delta;
    for (let k = 0; k < j; k++) d -= l[rowJ + k] * l[rowJ + k];
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    l[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = m[rowI + j];
      for (let k = 0; k < j; k++) s -= l[rowI + k] * l[rowJ + k];
      l[rowI + j] = s / ljj;
    }
  }
  return l;
}

/** x with L·Lᵀ·x = b. */
function substitute(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}
