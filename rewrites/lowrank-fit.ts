import { convMoments, ftmError, relativeError, ridgeFor, solveDamped, symmetricEigen, type ConvMoments, type FitResult, type FitSolveOptions, type Params, type PatchStats, type Tensor } from '../src/index.js';

/**
 * Fits lowrank's pair of convs, k (V: C_in → r, k×k, no bias) then pw (U: r → C_out, 1×1, bias b), to a layer's
 * statistics: min Σ‖y − U·V·x − b‖² over the positions, x the C_in·k² input patch. This is reduced-rank regression,
 * solved exactly (maths: lowrank.md): Ŵ = the full least-squares conv (centered, one damped solve with C_out right-hand
 * sides), U = the top r eigenvectors of the fitted outputs' scatter Ŵ·Σxx·Ŵᵀ, V = Uᵀ·Ŵ, b = ȳ − U·V·x̄; then each
 * rank-1 term is balanced (‖V_i‖ = ‖U_i‖). Reads the current params for the error before; writes the fit in place.
 */
export function fitLowrank(stats: PatchStats, params: Params, options: FitSolveOptions = {}, where = 'lowrank'): FitResult {
  const m = convMoments(stats);
  const { inputs: n, cout } = m;
  const k = param(params, 'k.weight', where), pw = param(params, 'pw.weight', where), bias = param(params, 'pw.bias', where);
  const r = k.dims[0];
  if (k.size !== r * n || pw.size !== cout * r || bias.size !== cout) {
    throw ftmError('E_RULE', `expected k.weight [r, ${stats.cin}, k…] with k² = ${stats.k2}, pw.weight [${cout}, r, 1…], pw.bias [${cout}], found [${k.dims}], [${pw.dims}], [${bias.dims}]`, where);
  }
  const errorBefore = factoredError(m, pw.data as Float32Array, k.data as Float32Array, bias.data as Float32Array, r);

  const { wt, values, vectors, fitted } = decompose(stats, m, options.damping);

  // Term i: U_i = eigenvector i, V_i = U_iᵀ·Ŵ; balanced by √‖V_i‖ (U_i has unit norm).
  const kData = k.data as Float32Array, pwData = pw.data as Float32Array, biasData = bias.data as Float32Array;
  const v = new Float64Array(n);
  for (let i = 0; i < r; i++) {
    v.fill(0);
    for (let j = 0; j < n; j++) for (let c = 0; c < cout; c++) v[j] += vectors[i * cout + c] * wt[j * cout + c];
    const norm = Math.hypot(...v);
    const g = norm > 0 ? Math.sqrt(norm) : 1;
    for (let j = 0; j < n; j++) kData[i * n + j] = v[j] / g;
    for (let c = 0; c < cout; c++) pwData[c * r + i] = vectors[i * cout + c] * g;
  }
  const kMean = new Float64Array(r);
  for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) kMean[i] += kData[i * n + j] * m.meanX[j];
  for (let c = 0; c < cout; c++) {
    let s = m.meanY[c];
    for (let i = 0; i < r; i++) s -= pwData[c * r + i] * kMean[i];
    biasData[c] = s;
  }
  // With W = U·Uᵀ·Ŵ and b = ȳ − W·x̄: W·Σxx·Wᵀ has trace Σ_{i<r} λ_i, and W·Σxy has trace Σ_{i<r} U_iᵀ·(Ŵ·Σxy)·U_i.
  let quad = 0, cross = 0, spread = 0;
  for (let i = 0; i < r; i++) {
    quad += values[i];
    for (let a = 0; a < cout; a++) {
      let t = 0;
      for (let c = 0; c < cout; c++) t += fitted[a * cout + c] * vectors[i * cout + c];
      cross += vectors[i * cout + a] * t;
    }
  }
  for (let c = 0; c < cout; c++) spread += m.yy[c];
  return { errorBefore, errorAfter: relativeError(spread - 2 * cross + quad, spread) };
}

/**
 * convError of the conv U·V (U = pw C_out × r, V = k r × n) and bias b, without forming U·V: the quadratic term
 * Σ_c U_c·(V·Σxx·Vᵀ)·U_cᵀ costs r·n² where the product's costs C_out·n², and the mixed plan's trial fits evaluate
 * every budget of every layer. For the weights as given (the error before the fit); the fit's own error comes from
 * its decomposition.
 */
function factoredError(m: ConvMoments, u: Float32Array, v: Float32Array, bias: Float32Array, r: number): number {
  const { inputs: n, cout, count } = m;
  const vxx = new Float64Array(r * n);
  for (let i = 0; i < r; i++)
    for (let a = 0; a < n; a++) {
      const f = v[i * n + a];
      if (f !== 0) for (let b = 0; b < n; b++) vxx[i * n + b] += f * m.xx[a * n + b];
    }
  const gram = new Float64Array(r * r), vxy = new Float64Array(r * cout), vMean = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j <= i; j++) {
      let t = 0;
      for (let b = 0; b < n; b++) t += vxx[i * n + b] * v[j * n + b];
      gram[i * r + j] = gram[j * r + i] = t;
    }
    for (let a = 0; a < n; a++) {
      const f = v[i * n + a];
      vMean[i] += f * m.meanX[a];
      if (f !== 0) for (let c = 0; c < cout; c++) vxy[i * cout + c] += f * m.xy[a * cout + c];
    }
  }
  let error = 0, spread = 0;
  for (let c = 0; c < cout; c++) {
    let quad = 0, cross = 0, mean = m.meanY[c] - bias[c];
    for (let i = 0; i < r; i++) {
      const ui = u[c * r + i];
      if (ui === 0) continue;
      let t = 0;
      for (let j = 0; j < r; j++) t += gram[i * r + j] * u[c * r + j];
      quad += ui * t;
      cross += ui * vxy[i * cout + c];
      mean -= ui * vMean[i];
    }
    error += m.yy[c] - 2 * cross + quad + count * mean * mean;
    spread += m.yy[c];
  }
  return relativeError(error, spread);
}

interface Decomposition {
  damping: number | undefined;
  /** Ŵᵀ, n × C_out. */
  wt: Float64Array;
  /** Eigenvalues of Ŵ·Σxx·Ŵᵀ, decreasing, and its eigenvectors, one per row. */
  values: Float64Array;
  vectors: Float64Array;
  /** Ŵ·Σxy, C_out × C_out: with the eigenvalues, the error of every rank without its weights. */
  fitted: Float64Array;
}

/** Ŵ and the eigenvectors depend on the statistics, not on r: the mixed plan's trial fits solve every budget of a
 * layer on one statistics object, which then costs one decomposition. */
const decompositions = new WeakMap<PatchStats, Decomposition>();

function decompose(stats: PatchStats, m: ReturnType<typeof convMoments>, damping: number | undefined): Decomposition {
  const known = decompositions.get(stats);
  if (known && known.damping === damping) return known;
  const { inputs: n, cout } = m;
  // Ŵᵀ (n × C_out) from the centered normal equations, and S = Ŵ·Σxx·Ŵᵀ (C_out × C_out).
  const wt = solveDamped(m.xx, m.xy, n, ridgeFor(n, m.count, damping));
  const t = new Float64Array(n * cout);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const a = m.xx[i * n + j];
      if (a !== 0) for (let c = 0; c < cout; c++) t[i * cout + c] += a * wt[j * cout + c];
    }
  const scatter = transposedProduct(wt, t, n, cout);
  for (let a = 0; a < cout; a++) for (let c = 0; c < a; c++) scatter[a * cout + c] = scatter[c * cout + a] = (scatter[a * cout + c] + scatter[c * cout + a]) / 2;
  const fitted = transposedProduct(wt, m.xy, n, cout);
  const result = { damping, wt, ...symmetricEigen(scatter, cout), fitted };
  decompositions.set(stats, result);
  return result;
}

/** Aᵀ·B for A and B both n × k (row-major): k × k. */
function transposedProduct(a: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) {
      const f = a[i * k + p];
      if (f !== 0) for (let q = 0; q < k; q++) out[p * k + q] += f * b[i * k + q];
    }
  return out;
}

function param(params: Params, role: string, where: string): Tensor {
  const t = params.get(role);
  if (!t || !(t.data instanceof Float32Array)) throw ftmError('E_RULE', `expected the float32 lowrank weight "${role}" among the rewrite's params, found ${[...params.keys()].join(', ') || 'none'}`, where);
  return t;
}
