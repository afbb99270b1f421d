import { dampedFactor, Gemms, ftmError, ridgeFor, KroneckerProducts, relativeError, solveDamped, targetSpread, type FitSolveOptions, type PatchStats } from '../src/index.js';
import { GATE_AT_ZERO, type FtmWeights } from './ftm-init.js';
import type { FtmLayout } from './ftm-layout.js';
import { conjugateGradients } from './ftm-pcg.js';

export interface FtmSolveOptions extends FitSolveOptions {
  /** How the P̃ step is solved: a factorization per group, or batched conjugate gradients (default: by size). */
  pointwise?: 'direct' | 'cg';
}

export interface FtmFit {
  /** Module-form weights, gates zero: write them with setFtmParams (either form). */
  weights: FtmWeights;
  /** ‖Y − Ŷ‖² / ‖Y − mean(Y)‖² over the statistics' positions, with the initial weights (gates taken as zero). */
  errorBefore: number;
  errorAfter: number;
  /** The relative error after each round (history[0] = errorBefore). */
  history: number[];
}

/**
 * Fits one FTM layer (module form, gates at zero) to a layer's sufficient statistics by alternating least squares.
 *
 * Group j's prime map is u_j = W_jᵀX with the rank-1 kernel W_j = P̃_j ⊗ D_j over (C_in+1)·k² patch entries, where
 * P̃_j = [P_j, bp_j] (pointwise weights and bias; the bias acts on the zero-padded constant channel) and D_j is the
 * depthwise kernel. Original channel c, copy t of group j, is y_c ≈ a_c·u_j + s_c with a_c = scale[c]·(t > 0 ? σ(0) : 1)
 * and s_c = shift[c]. The loss separates over groups; in each group, starting from `init`, every round solves
 *   (1) P̃_j given D_j, a, s: a damped (C_in+1)² system, by preconditioned conjugate gradients from the current P̃_j,
 *   (2) D_j given P̃_j, a, s: one damped k² system (then D_j is scaled to unit norm, P̃_j takes the scale),
 *   (3) a_c, s_c given u_j: a 1-D regression of y_c on u_j per channel, all from the statistics.
 * Every step lowers the loss in its block (exactly for (2) and (3); (1) stops at a small residual or an iteration cap,
 * and conjugate gradients from the current point never raise it), so the error never grows. Pure float64.
 *
 * All groups share the statistics, so each round runs as a few batched products of the patch Gram matrix with the
 * groups' Kronecker kernels on onnxruntime (KroneckerProducts), not as a factorization per group: the cost per round is
 * (conjugate-gradient steps + 1) GEMMs of K² × m, K = (C_in+1)·k², m groups.
 * Options: `iterations` rounds per group (default 8); a group stops early when a round lowers its error by less than
 * the fraction `tolerance` (default 1e-7); `damping` is the ridge of the P̃ and D solves (see solveDamped;
 * default: ridgeFor's, which grows where positions are few per unknown).
 */
export async function fitFtmLayer(stats: PatchStats, init: FtmWeights, layout: FtmLayout, k2: number, cin: number, options: FtmSolveOptions = {}): Promise<FtmFit> {
  const { iterations = 8, tolerance = 1e-7, damping } = options;
  const pointwise = options.pointwise ?? (k2 > 1 && cin + 1 <= DIRECT_MAX_CHANNELS ? 'direct' : 'cg');
  checkShapes(stats, init, layout, k2, cin);
  const pointwiseRidge = ridgeFor(cin + 1, stats.count, damping);
  const state = new LayerState(stats, init, layout, k2, cin, pointwiseRidge, options.threads);
  const products = KroneckerProducts.create(state.gram(), cin + 1, k2, { threads: options.threads });
  try {
    const reference = targetSpread(stats);
    const all = layout.groups.map((_, j) => j);
    await state.refresh(products, all);
    const rounds = [state.total(all)];
    let active = all;
    for (let it = 1; it <= iterations; it++) {
      const before = active.map((j) => state.loss[j]);
      const solving = active.filter((j) => state.alpha(j) > 0);
      if (solving.length) {
        const targets = new Map(solving.map((j) => [j, state.target(j)]));
        await state.solvePointwise(products, solving, targets, pointwiseRidge, pointwise);
        await state.solveDepthwise(products, solving, targets, ridgeFor(k2, stats.count, damping));
      }
      for (const j of active) state.fitAffine(j);
      active = active.filter((j, i) => before[i] - state.loss[j] > tolerance * before[i]);
      rounds.push(state.total(all));
      if (!active.length) {
        while (rounds.length <= iterations) rounds.push(rounds[rounds.length - 1]);
        break;
      }
    }
    const history = rounds.map((r) => relativeError(r, reference));
    return { weights: state.weights(), errorBefore: history[0], errorAfter: history[history.length - 1], history };
  } finally {
    await products.release();
    await state.release();
  }
}

/**
 * Up to this many input channels (+1) a k×k layer's P̃ step factorizes each group's system (K² + n³/3 per group in
 * TypeScript, exact); above, the groups' systems are solved together by conjugate gradients whose products are batched
 * GEMMs on onnxruntime. 1×1 layers always take conjugate gradients: their preconditioner is their exact system.
 */
const DIRECT_MAX_CHANNELS = 160;

/**
 * The conjugate-gradient P̃ step stops at this relative residual, after a step that lowered the group's loss by less
 * than this share of it, or after this many products: the alternating rounds refine a warm start, so steps that no
 * longer move the loss are not worth a GEMM each.
 */
const PCG_RESIDUAL = 1e-6;
const PCG_MIN_GAIN = 1e-4;
const PCG_MAX_STEPS = 10;

/** The gate's factor on copy t of a prime map while the fusion weights are zero. */
const gateFactor = (t: number) => (t === 0 ? 1 : GATE_AT_ZERO);

/**
 * The weights of every group and the quadratic forms of the loss in the statistics (patch entries 0..K−1, K = n·k²,
 * n = C_in + 1; the always-1 entry K). Batched vectors are column-major in the group: p is n × m, d is k² × m.
 */
class LayerState {
  readonly n: number;
  readonly t: number;
  readonly m: number;
  private readonly k: number;
  /** P̃ (n × m) and D (t × m). */
  readonly p: Float64Array;
  readonly d: Float64Array;
  /** a_c and s_c, per original channel. */
  private readonly a: Float64Array;
  private readonly s: Float64Array;
  /** A·w_j for the current w_j = p_j ⊗ d_j, K per group (group j at j·K). */
  private readonly aw: Float64Array;
  readonly loss: Float64Array;
  /** τ[κ, κ'] = Σ_c A[c·t+κ, c·t+κ']: trace((I⊗d)ᵀA(I⊗d)) = dᵀτd. */
  private readonly tau: Float64Array;
  /**
   * Solves with Ā + λI, Ā = the mean over taps of A's channel blocks: the preconditioner of the P̃ step. k×k layers
   * apply it at every conjugate-gradient step, as a product with its inverse; 1×1 layers once, by substitution.
   */
  private readonly preconditioner: ((b: Float64Array) => Promise<Float64Array>) | undefined;
  /** Runs the k×k preconditioner's product with its inverse. */
  private readonly gemms: Gemms | undefined;
  private readonly meanTrace: number;
  private readonly gateSizes: number[];

  constructor(
    private readonly stats: PatchStats,
    init: FtmWeights,
    private readonly layout: FtmLayout,
    k2: number,
    cin: number,
    /** The P̃ step's relative ridge: the preconditioner takes the same, so a 1×1 layer's stays its exact system. */
    pointwiseRidge: number,
    threads: number | undefined,
  ) {
    const n = (this.n = cin + 1), t = (this.t = k2), m = (this.m = layout.m);
    this.gateSizes = init.gates.map((g) => g.length);
    this.k = n * t;
    this.p = new Float64Array(n * m);
    this.d = new Float64Array(t * m);
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < n; c++) this.p[c * m + j] = c < cin ? init.pw[j * cin + c] : init.pwBias[j];
      for (let q = 0; q < t; q++) this.d[q * m + j] = init.dw[j * t + q];
    }
    this.a = new Float64Array(layout.channels);
    this.s = new Float64Array(layout.channels);
    layout.groups.forEach((channels) =>
      channels.forEach((c, i) => {
        this.a[c] = init.scale[c] * gateFactor(i);
        this.s[c] = init.shift[c];
      }),
    );
    this.aw = new Float64Array(this.k * m);
    this.loss = new Float64Array(m);
    const { xx, size } = stats;
    this.tau = new Float64Array(t * t);
    const mean = new Float64Array(n * n);
    for (let c = 0; c < n; c++)
      for (let q = 0; q < t; q++) {
        const row = (c * t + q) * size;
        for (let q2 = 0; q2 < t; q2++) this.tau[q * t + q2] += xx[row + c * t + q2];
        for (let c2 = 0; c2 < n; c2++) mean[c * n + c2] += xx[row + c2 * t + q] / t;
      }
    let trace = 0;
    for (let c = 0; c < n; c++) trace += mean[c * n + c];
    this.meanTrace = trace;
    const factor = dampedFactor(mean, n, pointwiseRidge);
    if (factor && t > 1) {
      const inverse = factor(identity(n)), gemms = (this.gemms = new Gemms(threads));
      this.preconditioner = (b) => gemms.run({ a: inverse, b, rows: n, inner: n, cols: b.length / n });
    } else if (factor) this.preconditioner = async (b) => factor(b);
  }

  async release(): Promise<void> {
    await this.gemms?.release();
  }

  /** The patch block of Σ XXᵀ, K × K. */
  gram(): Float64Array {
    const { k } = this;
    const { xx, size } = this.stats;
    const a = new Float64Array(k * k);
    for (let r = 0; r < k; r++) a.set(xx.subarray(r * size, r * size + k), r * k);
    return a;
  }

  alpha(j: number): number {
    return this.layout.groups[j].reduce((sum, c) => sum + this.a[c] * this.a[c], 0);
  }

  total(groups: number[]): number {
    return groups.reduce((sum, j) => sum + this.loss[j], 0);
  }

  /** A·w_j and the loss of the groups, from one batched product (at the start). */
  async refresh(products: KroneckerProducts, groups: number[]): Promise<void> {
    const d = this.columns(this.d, this.t, groups);
    const { columns } = await products.products(this.columns(this.p, this.n, groups), d, { columns: true });
    this.setApplied(groups, columns!, d);
    for (const j of groups) this.loss[j] = this.groupLoss(j, this.moments(j));
  }

  /** g_j = Σ_c a_c (Σ X y_c − s_c Σ X) over the group's channels, restricted to the patch entries. */
  target(j: number): Float64Array {
    const { k } = this;
    const { xx, xy, size, cout } = this.stats;
    const g = new Float64Array(k);
    for (const c of this.layout.groups[j]) {
      const [a, s] = [this.a[c], this.s[c]];
      for (let r = 0; r < k; r++) g[r] += a * (xy[r * cout + c] - s * xx[r * size + k]);
    }
    return g;
  }

  /** Step (1) for the groups: α (I⊗d)ᵀA(I⊗d) P̃ + δP̃ = (I⊗d)ᵀ g, from the current P̃. */
  async solvePointwise(products: KroneckerProducts, groups: number[], targets: Map<number, Float64Array>, damping: number, solver: 'direct' | 'cg'): Promise<void> {
    const { n, t } = this;
    const live = groups.filter((j) => this.dTauD(j) > 0);
    for (const j of groups) if (!live.includes(j)) for (let c = 0; c < n; c++) this.p[c * this.m + j] = 0; // M = 0: the minimum-norm answer
    if (!live.length || !this.preconditioner) return;
    if (solver === 'direct') {
      for (const j of live) {
        const solution = solveDamped(this.pointwiseSystem(j), this.contract(targets.get(j)!, this.dOf(j)), n, damping);
        for (let c = 0; c < n; c++) this.p[c * this.m + j] = solution[c];
      }
      return;
    }
    const count = live.length;
    const coef = live.map((j) => {
      const trace = this.dTauD(j), alpha = this.alpha(j);
      return { alpha, ridge: (damping * alpha * trace) / n, scale: (alpha * trace) / this.meanTrace };
    });
    const d = this.columns(this.d, t, live);
    const b = new Float64Array(n * count), x = this.columns(this.p, n, live), hx = new Float64Array(n * count);
    live.forEach((j, i) => {
      const g = targets.get(j)!, dj = this.dOf(j);
      const mp = this.contract(this.aw.subarray(j * this.k, (j + 1) * this.k), dj); // M_j p_j from A·w_j
      for (let c = 0; c < n; c++) {
        let v = 0;
        for (let q = 0; q < t; q++) v += dj[q] * g[c * t + q];
        b[c * count + i] = v;
        hx[c * count + i] = coef[i].alpha * mp[c] + coef[i].ridge * x[c * count + i];
      }
    });
    const solution = await conjugateGradients({
      size: n,
      columns: count,
      residual: PCG_RESIDUAL,
      // the group's loss is 2f + constant: a step worth less than PCG_MIN_GAIN of it is the last
      minGain: Float64Array.from(live, (j) => (PCG_MIN_GAIN * this.loss[j]) / 2),
      maxSteps: PCG_MAX_STEPS,
      b,
      x,
      hx,
      apply: async (v, which) => {
        const sub = (data: Float64Array, rows: number) => Float64Array.from({ length: rows * which.length }, (_, e) => data[Math.floor(e / which.length) * count + which[e % which.length]]);
        const { contracted } = await products.products(v, sub(d, t), { contracted: true });
        const out = contracted!;
        which.forEach((col, i) => {
          for (let c = 0; c < n; c++) out[c * which.length + i] = coef[col].alpha * out[c * which.length + i] + coef[col].ridge * v[c * which.length + i];
        });
        return out;
      },
      precondition: async (r, which) => {
        const z = await this.preconditioner!(r);
        which.forEach((col, i) => {
          for (let c = 0; c < n; c++) z[c * which.length + i] /= coef[col].scale;
        });
        return z;
      },
    });
    live.forEach((j, i) => {
      for (let c = 0; c < n; c++) this.p[c * this.m + j] = solution[c * count + i];
    });
  }

  /** α (I⊗d)ᵀA(I⊗d) for group j, n × n, from the statistics: K² multiply-adds. */
  private pointwiseSystem(j: number): Float64Array {
    const { n, t } = this;
    const { xx, size } = this.stats;
    const d = this.dOf(j), alpha = this.alpha(j);
    const m = new Float64Array(n * n);
    for (let c = 0; c < n; c++)
      for (let q = 0; q < t; q++) {
        const f = alpha * d[q];
        if (f === 0) continue;
        const row = (c * t + q) * size;
        for (let c2 = 0; c2 < n; c2++) {
          let v = 0;
          for (let q2 = 0; q2 < t; q2++) v += xx[row + c2 * t + q2] * d[q2];
          m[c * n + c2] += f * v;
        }
      }
    return m;
  }

  /** Step (2) for the groups: α (P̃⊗I)ᵀA(P̃⊗I) D = (P̃⊗I)ᵀ g (exact, k² per group), then ‖D‖ = 1; keeps A·w. */
  async solveDepthwise(products: KroneckerProducts, groups: number[], targets: Map<number, Float64Array>, damping: number): Promise<void> {
    const { n, t } = this;
    const count = groups.length;
    const p = this.columns(this.p, n, groups);
    const { columns } = await products.products(p, this.columns(this.d, t, groups), { columns: true });
    const cols = columns!;
    // the groups' systems side by side (group innermost), reading the batched columns in memory order
    const systems = new Float64Array(t * t * count);
    for (let c = 0; c < n; c++)
      for (let q = 0; q < t; q++)
        for (let q2 = 0; q2 < t; q2++) {
          const base = ((c * t + q) * t + q2) * count, row = (q * t + q2) * count;
          for (let i = 0; i < count; i++) systems[row + i] += p[c * count + i] * cols[base + i];
        }
    const solved = new Float64Array(t * count);
    groups.forEach((j, i) => {
      const pj = this.pOf(j), g = targets.get(j)!, alpha = this.alpha(j);
      const system = Float64Array.from({ length: t * t }, (_, e) => alpha * systems[e * count + i]);
      const rhs = new Float64Array(t);
      for (let c = 0; c < n; c++) for (let q = 0; q < t; q++) rhs[q] += pj[c] * g[c * t + q];
      const dj = solveDamped(system, rhs, t, damping);
      for (let q = 0; q < t; q++) solved[q * count + i] = dj[q];
    });
    this.setApplied(groups, cols, solved);
    groups.forEach((j, i) => {
      const dj = Float64Array.from({ length: t }, (_, q) => solved[q * count + i]);
      const norm = Math.hypot(...dj);
      for (let q = 0; q < t; q++) this.d[q * this.m + j] = norm > 0 ? dj[q] / norm : dj[q];
      if (norm > 0) for (let c = 0; c < n; c++) this.p[c * this.m + j] *= norm;
    });
  }

  /** Step (3): a_c, s_c = the least-squares regression of y_c on u_j (in place); updates the group's loss. */
  fitAffine(j: number): void {
    const mo = this.moments(j);
    const { xy, count: n } = this.stats;
    const varU = mo.suu - (mo.su * mo.su) / n;
    for (const c of this.layout.groups[j]) {
      const sy = xy[this.k * this.stats.cout + c];
      const cov = mo.suy.get(c)! - (mo.su * sy) / n;
      this.a[c] = varU > 1e-12 * Math.max(mo.suu, Number.MIN_VALUE) ? cov / varU : 0;
      this.s[c] = (sy - this.a[c] * mo.su) / n;
    }
    this.loss[j] = this.groupLoss(j, mo);
  }

  weights(): FtmWeights {
    const { n, t, m } = this;
    const cin = n - 1;
    const out: FtmWeights = {
      pw: new Float32Array(m * cin),
      pwBias: new Float32Array(m),
      dw: new Float32Array(m * t),
      gates: this.gateSizes.map((size) => new Float32Array(size)),
      scale: new Float32Array(this.layout.channels),
      shift: new Float32Array(this.layout.channels),
    };
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < cin; c++) out.pw[j * cin + c] = this.p[c * m + j];
      out.pwBias[j] = this.p[cin * m + j];
      for (let q = 0; q < t; q++) out.dw[j * t + q] = this.d[q * m + j];
    }
    this.layout.groups.forEach((channels) =>
      channels.forEach((c, i) => {
        out.scale[c] = this.a[c] / gateFactor(i);
        out.shift[c] = this.s[c];
      }),
    );
    return out;
  }

  /** The moments of u = wᵀX: Σu, Σu² (from A·w), Σ u·y_c for the group's channels. */
  private moments(j: number): { su: number; suu: number; suy: Map<number, number> } {
    const { k, t } = this;
    const { xx, xy, size, cout } = this.stats;
    const pj = this.pOf(j), dj = this.dOf(j), aw = this.aw.subarray(j * k, (j + 1) * k);
    const channels = this.layout.groups[j];
    let su = 0, suu = 0;
    const suy = new Float64Array(channels.length);
    for (let r = 0; r < k; r++) {
      const w = pj[Math.floor(r / t)] * dj[r % t];
      if (w === 0) continue;
      suu += w * aw[r];
      su += w * xx[r * size + k];
      channels.forEach((c, i) => (suy[i] += w * xy[r * cout + c]));
    }
    return { su, suu, suy: new Map(channels.map((c, i) => [c, suy[i]])) };
  }

  /** Σ over the group's channels of ‖y_c − a_c·u − s_c‖². */
  private groupLoss(j: number, mo: { su: number; suu: number; suy: Map<number, number> }): number {
    const { yy, xy, count, cout } = this.stats;
    return this.layout.groups[j].reduce((sum, c) => {
      const [a, s] = [this.a[c], this.s[c]];
      const sy = xy[this.k * cout + c];
      return sum + yy[c] - 2 * (a * mo.suy.get(c)! + s * sy) + a * a * mo.suu + 2 * a * s * mo.su + s * s * count;
    }, 0);
  }

  /** A·(p_j ⊗ d_j) for the groups, from their batched columns A (p_j ⊗ I) (K × t × count) and d (t × count). */
  private setApplied(groups: number[], cols: Float64Array, d: Float64Array): void {
    const { k, t } = this;
    const count = groups.length;
    const sums = new Float64Array(count);
    for (let r = 0; r < k; r++) {
      sums.fill(0);
      for (let q = 0; q < t; q++) {
        const base = (r * t + q) * count;
        for (let i = 0; i < count; i++) sums[i] += d[q * count + i] * cols[base + i];
      }
      groups.forEach((j, i) => (this.aw[j * k + r] = sums[i]));
    }
  }

  /** (I ⊗ d)ᵀ v: the sum over taps. */
  private contract(v: Float64Array, d: Float64Array): Float64Array {
    const { n, t } = this;
    const out = new Float64Array(n);
    for (let c = 0; c < n; c++) for (let q = 0; q < t; q++) out[c] += d[q] * v[c * t + q];
    return out;
  }

  private dTauD(j: number): number {
    const d = this.dOf(j), { t } = this;
    let v = 0;
    for (let q = 0; q < t; q++) for (let q2 = 0; q2 < t; q2++) v += d[q] * this.tau[q * t + q2] * d[q2];
    return v;
  }

  private pOf(j: number): Float64Array {
    return Float64Array.from({ length: this.n }, (_, c) => this.p[c * this.m + j]);
  }

  private dOf(j: number): Float64Array {
    return Float64Array.from({ length: this.t }, (_, q) => this.d[q * this.m + j]);
  }

  /** The columns `groups` of a rows × m matrix, as rows × groups.length. */
  private columns(data: Float64Array, rows: number, groups: number[]): Float64Array {
    const out = new Float64Array(rows * groups.length);
    for (let r = 0; r < rows; r++) groups.forEach((j, i) => (out[r * groups.length + i] = data[r * this.m + j]));
    return out;
  }
}

function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

function checkShapes(stats: PatchStats, init: FtmWeights, layout: FtmLayout, k2: number, cin: number): void {
  const problems: string[] = [];
  if (stats.k2 !== k2 || stats.cin !== cin) problems.push(`statistics for C_in=${stats.cin}, k²=${stats.k2}, weights for C_in=${cin}, k²=${k2}`);
  if (stats.cout !== layout.channels) problems.push(`statistics for ${stats.cout} output channels, layout for ${layout.channels}`);
  if (init.pw.length !== layout.m * cin || init.pwBias.length !== layout.m || init.dw.length !== layout.m * k2) problems.push(`weights do not fit m=${layout.m} prime maps`);
  if (init.scale.length !== layout.channels || init.shift.length !== layout.channels) problems.push(`affine of ${init.scale.length} channels, layout of ${layout.channels}`);
  if (stats.count === 0) problems.push('statistics over zero positions');
  if (problems.length) throw ftmError('E_RULE', `cannot fit the FTM layer: ${problems.join('; ')}`);
}
