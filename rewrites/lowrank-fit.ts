import { blockedDampedFactor, convMoments, ftmError, Gemms, relativeError, ridgeFor, symmetricEigen, type ConvMoments, type FitResult, type FitSolveOptions, type Params, type PatchStats, type Tensor } from '../src/index.js';

/**
 * Fits lowrank's pair of convs, k (V: C_in → r, k×k, no bias) then pw (U: r → C_out, 1×1, bias b), to a layer's
 * statistics: min Σ‖y − U·V·x − b‖² over the positions, x the C_in·k² input patch. This is reduced-rank regression,
 * solved exactly (maths: lowrank.md): Ŵ = the full least-squares conv (centered, one damped solve with C_out right-hand
 * sides), U = the top r eigenvectors of the fitted outputs' scatter Ŵ·Σxx·Ŵᵀ, V = Uᵀ·Ŵ, b = ȳ − U·V·x̄; then each
 * rank-1 term is balanced (‖V_i‖ = ‖U_i‖). Reads the current params for the error before; writes the fit in place.
 */
export async function fitLowrank(stats: PatchStats, params: Params, options: FitSolveOptions = {}, where = 'lowrank'): Promise<FitResult> {
  const m = convMoments(stats);
  const { inputs: n, cout } = m;
  const k = param(params, 'k.weight', where), pw = param(params, 'pw.weight', where), bias = param(params, 'pw.bias', where);
  const r = k.dims[0];
  if (k.size !== r * n || pw.size !== cout * r || bias.size !== cout) {
    throw ftmError('E_RULE', `expected k.weight [r, ${stats.cin}, k…] with k² = ${stats.k2}, pw.weight [${cout}, r, 1…], pw.bias [${cout}], found [${k.dims}], [${pw.dims}], [${bias.dims}]`, where);
  }
  // Wide layers (n = C_in·k² in the thousands) make every n² and n³ step below a product for onnxruntime.
  const gemms = new Gemms(options.threads);
  try {
    const errorBefore = await factoredError(m, pw.data as Float32Array, k.data as Float32Array, bias.data as Float32Array, r, gemms);
    const decomposition = await decompose(stats, m, options.damping, gemms);
    const terms = await gemms.run({ a: decomposition.vectors.slice(0, r * cout), b: decomposition.wt, rows: r, inner: cout, cols: n, transB: true });
    return { errorBefore, errorAfter: setTerms(m, terms, decomposition, k, pw, bias) };
  } finally {
    await gemms.release();
  }
}

/** Writes the factors from the terms V_i = U_iᵀ·Ŵ (r × n) and returns the fit's error. */
function setTerms(m: ConvMoments, terms: Float64Array, { values, vectors, fitted }: Decomposition, k: Tensor, pw: Tensor, bias: Tensor): number {
  const { inputs: n, cout } = m;
  const r = terms.length / n;
  // Term i: U_i = eigenvector i, V_i; balanced by √‖V_i‖ (U_i has unit norm).
  const kData = k.data as Float32Array, pwData = pw.data as Float32Array, biasData = bias.data as Float32Array;
  for (let i = 0; i < r; i++) {
    const v = terms.subarray(i * n, (i + 1) * n);
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
  return relativeError(spread - 2 * cross + quad, spread);
}

/**
 * convError of the conv U·V (U = pw C_out × r, V = k r × n) and bias b, without forming U·V: the quadratic term
 * Σ_c U_c·(V·Σxx·Vᵀ)·U_cᵀ costs r·n² where the product's costs C_out·n², and the mixed plan's trial fits evaluate
 * every budget of every layer. For the weights as given (the error before the fit); the fit's own error comes from
 * its decomposition.
 */
async function factoredError(m: ConvMoments, u: Float32Array, v32: Float32Array, bias: Float32Array, r: number, gemms: Gemms): Promise<number> {
  const { inputs: n, cout, count } = m;
  const v = Float64Array.from(v32);
  const vxx = await gemms.run({ a: v, b: m.xx, rows: r, inner: n, cols: n });
  const gram = await gemms.run({ a: vxx, b: v, rows: r, inner: n, cols: r, transB: true });
  const vxy = await gemms.run({ a: v, b: m.xy, rows: r, inner: n, cols: cout });
  const vMean = new Float64Array(r);
  for (let i = 0; i < r; i++) for (let a = 0; a < n; a++) vMean[i] += v[i * n + a] * m.meanX[a];
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

async function decompose(stats: PatchStats, m: ConvMoments, damping: number | undefined, gemms: Gemms): Promise<Decomposition> {
  const known = decompositions.get(stats);
  if (known && known.damping === damping) return known;
  const { inputs: n, cout } = m;
  // Ŵᵀ (n × C_out) from the centered normal equations, and S = Ŵ·Σxx·Ŵᵀ (C_out × C_out).
  const solve = await blockedDampedFactor(m.xx, n, gemms, ridgeFor(n, m.count, damping));
  const wt = solve ? await solve(m.xy) : new Float64Array(n * cout);
  const t = await gemms.run({ a: m.xx, b: wt, rows: n, inner: n, cols: cout });
  const scatter = await gemms.run({ a: wt, b: t, rows: cout, inner: n, cols: cout, transA: true });
  for (let a = 0; a < cout; a++) for (let c = 0; c < a; c++) scatter[a * cout + c] = scatter[c * cout + a] = (scatter[a * cout + c] + scatter[c * cout + a]) / 2;
  const fitted = await gemms.run({ a: wt, b: m.xy, rows: cout, inner: n, cols: cout, transA: true });
  const result = { damping, wt, ...symmetricEigen(scatter, cout), fitted };
  decompositions.set(stats, result);
  return result;
}

function param(params: Params, role: string, where: string): Tensor {
  const t = params.get(role);
  if (!t || !(t.data instanceof Float32Array)) throw ftmError('E_RULE', `expected the float32 lowrank weight "${role}" among the rewrite's params, found ${[...params.keys()].join(', ') || 'none'}`, where);
  return t;
}
