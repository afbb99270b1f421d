/**
 * Small dense symmetric solves for layer fitting, in float64: the normal equations of least-squares problems of size
 * C_in+1, k² or C_in·k² (tens to a few hundred), where a direct Cholesky factorization is both the fastest and the most
 * accurate way.
 */

/** Relative ridge added to the diagonal unless the caller says otherwise (see `solveDamped`). */
export const DEFAULT_DAMPING = 1e-6;

/**
 * The relative ridge per unknown-to-position ratio: unless the caller gives a damping, a solve with n unknowns fitted
 * on N positions gets max(DEFAULT_DAMPING, SAMPLE_RIDGE · n / N). With few positions per unknown (deep layers of a small calibration set, where N can fall below
 * n) the sample covariance has near-zero eigenvalues whose directions least squares fits to noise: exact on the fitting
 * samples, unbounded on any other input. The floor grows as n / N does, as the optimal ridge of a regression with
 * isotropic noise does, and vanishes next to DEFAULT_DAMPING when positions are plentiful (bench/damping.md).
 */
export const SAMPLE_RIDGE = 4e-3;

/** The relative ridge of a solve with `unknowns` unknowns fitted on `positions` positions: the caller's `damping`
 * when given, else the one SAMPLE_RIDGE sets. */
export function ridgeFor(unknowns: number, positions: number, damping?: number): number {
  if (damping !== undefined) return damping;
  return positions > 0 ? Math.max(DEFAULT_DAMPING, (SAMPLE_RIDGE * unknowns) / positions) : DEFAULT_DAMPING;
}

/**
 * Solves (M + δ·I) x = b for a symmetric positive semi-definite n×n matrix M (row-major; only the lower triangle is
 * read), with δ = damping · trace(M)/n: a ridge relative to the mean eigenvalue, so that directions the data never
 * excites (dead input channels, a constant channel that padding never distinguishes from the shift) get a zero
 * coefficient rather than an arbitrary one. If rounding still leaves a non-positive pivot, δ grows tenfold and the
 * factorization starts again. A zero matrix gives x = 0 (the minimum-norm solution).
 *
 * `b` holds n values, or k right-hand sides as an n×k row-major matrix (b.length = n·k): the factorization is done
 * once for all of them, and x has the shape of b.
 */
export function solveDamped(m: Float64Array, b: Float64Array, n: number, damping = DEFAULT_DAMPING): Float64Array {
  if (b.length % n !== 0) throw new RangeError(`solveDamped: expected a multiple of ${n} values, found ${b.length}`);
  const solve = dampedFactor(m, n, damping);
  return solve ? solve(b) : new Float64Array(b.length);
}

/**
 * The Cholesky factorization of M + δ·I (δ as in solveDamped), as a function solving it for right-hand sides given later
 * (n values, or n×k row-major); undefined when M is zero (trace ≤ 0), whose minimum-norm solutions are 0.
 */
export function dampedFactor(m: Float64Array, n: number, damping = DEFAULT_DAMPING): ((b: Float64Array) => Float64Array) | undefined {
  for (const delta of dampingSteps(m, n, damping)) {
    const l = cholesky(m, n, delta);
    if (l) {
      return (b: Float64Array) => {
        if (b.length % n !== 0) throw new RangeError(`solveDamped: expected a multiple of ${n} values, found ${b.length}`);
        return substitute(l, b, n);
      };
    }
  }
  return undefined;
}

/**
 * The ridges δ a damped factorization of M tries in turn: damping · trace(M)/n, then tenfold (at least 1e-15 · the
 * mean eigenvalue) after each non-positive pivot; none when M is zero (trace ≤ 0). Throws when 30 attempts all fail.
 */
export function* dampingSteps(m: Float64Array, n: number, damping: number): Generator<number> {
  if (m.length !== n * n || n === 0) throw new RangeError(`solveDamped: expected a ${n}×${n} matrix, found ${m.length} values`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += m[i * n + i];
  if (!(trace > 0)) return;
  let delta = (damping * trace) / n;
  for (let attempt = 0; attempt < 30; attempt++, delta = Math.max(delta * 10, (1e-15 * trace) / n)) yield delta;
  throw new RangeError('solveDamped: the matrix is not positive semi-definite (or holds NaN)');
}

/** Lower-triangular L with L·Lᵀ = M + δ·I (only M's lower triangle is read), or undefined at a non-positive pivot. */
export function cholesky(m: Float64Array, n: number, delta: number): Float64Array | undefined {
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

/** X with L·Lᵀ·X = B, for B of n rows and `cols` = b.length / n columns (row-major). */
function substitute(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const cols = b.length / n;
  const y = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const row = i * cols;
    for (let k = 0; k < i; k++) {
      const f = l[i * n + k];
      if (f !== 0) for (let c = 0; c < cols; c++) y[row + c] -= f * y[k * cols + c];
    }
    const d = l[i * n + i];
    for (let c = 0; c < cols; c++) y[row + c] /= d;
  }
  for (let i = n - 1; i >= 0; i--) {
    const row = i * cols;
    for (let k = i + 1; k < n; k++) {
      const f = l[k * n + i];
      if (f !== 0) for (let c = 0; c < cols; c++) y[row + c] -= f * y[k * cols + c];
    }
    const d = l[i * n + i];
    for (let c = 0; c < cols; c++) y[row + c] /= d;
  }
  return y;
}
