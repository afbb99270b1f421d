import { ftmError, ridgeFor, relativeError, solveDamped, targetSpread, type FitSolveOptions, type PatchStats } from '../../src/index.js';
import { GATE_AT_ZERO, type FtmWeights } from '../../rewrites/ftm-init.js';
import type { FtmLayout } from '../../rewrites/ftm-layout.js';

/**
 * The float64 reference of rewrites/ftm-fit.ts: the alternating least squares one group at a time, each P̃ step an exact
 * damped Cholesky solve. The batched solver must reach the same weights and errors on small layers.
 */
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
 *   (1) P̃_j given D_j, a, s: one damped (C_in+1)² system,
 *   (2) D_j given P̃_j, a, s: one damped k² system (then D_j is scaled to unit norm, P̃_j takes the scale),
 *   (3) a_c, s_c given u_j: a 1-D regression of y_c on u_j per channel, all from the statistics.
 * Every step minimizes the loss exactly in its block (up to the ridge), so the error never grows. Pure float64.
 * Options: `iterations` rounds per group (default 8); a group stops early when a round lowers its error by less than
 * the fraction `tolerance` (default 1e-7); `damping` is the ridge of the P̃ and D solves (see solveDamped).
 */
export function fitFtmLayerReference(stats: PatchStats, init: FtmWeights, layout: FtmLayout, k2: number, cin: number, options: FitSolveOptions = {}): FtmFit {
  const { iterations = 8, tolerance = 1e-7, damping } = options;
  checkShapes(stats, init, layout, k2, cin);
  const q = new Quadratic(stats);
  const reference = targetSpread(stats);
  const rounds = Array.from({ length: iterations + 1 }, () => 0);
  const weights: FtmWeights = {
    pw: new Float32Array(init.pw.length),
    pwBias: new Float32Array(init.pwBias.length),
    dw: new Float32Array(init.dw.length),
    gates: init.gates.map((g) => new Float32Array(g.length)),
    scale: new Float32Array(init.scale.length),
    shift: new Float32Array(init.shift.length),
  };
  layout.groups.forEach((channels, j) => {
    const p = Float64Array.from({ length: cin + 1 }, (_, i) => (i < cin ? init.pw[j * cin + i] : init.pwBias[j]));
    const d = Float64Array.from(init.dw.subarray(j * k2, (j + 1) * k2));
    const a = Float64Array.from(channels, (c, t) => init.scale[c] * gateFactor(t));
    const s = Float64Array.from(channels, (c) => init.shift[c]);
    let loss = q.groupLoss(kron(p, d), channels, a, s);
    rounds[0] += loss;
    for (let it = 1; it <= iterations; it++) {
      const before = loss;
      const alpha = a.reduce((n, v) => n + v * v, 0);
      let aw: Float64Array | undefined;
      if (alpha > 0) {
        const g = q.target(channels, a, s);
        p.set(solveDamped(q.blockSystem(d, 'p', alpha).m, contract(g, d, 'p'), cin + 1, ridgeFor(cin + 1, stats.count, damping)));
        const forD = q.blockSystem(p, 'd', alpha);
        d.set(solveDamped(forD.m, contract(g, p, 'd'), k2, ridgeFor(k2, stats.count, damping)));
        aw = forD.times(d);
        const norm = Math.hypot(...d);
        if (norm > 0) {
          d.forEach((v, i) => (d[i] = v / norm));
          p.forEach((v, i) => (p[i] = v * norm));
        }
      }
      loss = q.fitAffine(kron(p, d), channels, a, s, aw);
      rounds[it] += loss;
      if (before - loss <= tolerance * before) {
        for (let rest = it + 1; rest <= iterations; rest++) rounds[rest] += loss;
        break;
      }
    }
    for (let i = 0; i < cin; i++) weights.pw[j * cin + i] = p[i];
    weights.pwBias[j] = p[cin];
    weights.dw.set(d, j * k2);
    channels.forEach((c, t) => {
      weights.scale[c] = a[t] / gateFactor(t);
      weights.shift[c] = s[t];
    });
  });
  const history = rounds.map((r) => relativeError(r, reference));
  return { weights, errorBefore: history[0], errorAfter: history[history.length - 1], history };
}

/** The gate's factor on copy t of a prime map while the fusion weights are zero. */
const gateFactor = (t: number) => (t === 0 ? 1 : GATE_AT_ZERO);

/** w = p ⊗ d: entry c·k² + κ is p[c]·d[κ]. */
function kron(p: Float64Array, d: Float64Array): Float64Array {
  const w = new Float64Array(p.length * d.length);
  for (let c = 0; c < p.length; c++) for (let k = 0; k < d.length; k++) w[c * d.length + k] = p[c] * d[k];
  return w;
}

/** (I ⊗ d)ᵀ g when solving for p (sum over taps), (p ⊗ I)ᵀ g when solving for d (sum over channels). */
function contract(g: Float64Array, other: Float64Array, solveFor: 'p' | 'd'): Float64Array {
  const k2 = solveFor === 'p' ? other.length : g.length / other.length;
  const channels = g.length / k2;
  const out = new Float64Array(solveFor === 'p' ? channels : k2);
  for (let c = 0; c < channels; c++)
    for (let k = 0; k < k2; k++) {
      if (solveFor === 'p') out[c] += other[k] * g[c * k2 + k];
      else out[k] += other[c] * g[c * k2 + k];
    }
  return out;
}

/** The loss of a layer as quadratic forms in its PatchStats (patch entries 0..K−1, the always-1 entry K). */
class Quadratic {
  private readonly size: number;
  private readonly k: number;
  private readonly cout: number;
  private readonly k2: number;

  constructor(private readonly stats: PatchStats) {
    this.size = stats.size;
    this.k = stats.size - 1;
    this.cout = stats.cout;
    this.k2 = stats.k2;
  }

  /** g = Σ_c a_c (Σ X y_c − s_c Σ X), restricted to the patch entries: the right-hand side of the w-problem. */
  target(channels: number[], a: Float64Array, s: Float64Array): Float64Array {
    const { xx, xy } = this.stats;
    const g = new Float64Array(this.k);
    channels.forEach((c, t) => {
      for (let r = 0; r < this.k; r++) g[r] += a[t] * (xy[r * this.cout + c] - s[t] * xx[r * this.size + this.k]);
    });
    return g;
  }

  /**
   * α · (I ⊗ d)ᵀ A (I ⊗ d), (C_in+1)², when solving for p; α · (p ⊗ I)ᵀ A (p ⊗ I), k², when solving for d. A is the
   * patch block of Σ X Xᵀ; costs K² + K·(size of the result's side). `times(v)` is A·w for w = p ⊗ v (or v ⊗ d) from
   * the intermediate A·(p ⊗ I) (or A·(I ⊗ d)), in K·(size of v) instead of K².
   */
  blockSystem(other: Float64Array, solveFor: 'p' | 'd', alpha: number): { m: Float64Array; times: (v: Float64Array) => Float64Array } {
    const { xx } = this.stats;
    const { k, k2, size } = this;
    const channels = k / k2;
    const n = solveFor === 'p' ? channels : k2;
    // t[r, i] = Σ over the other factor's index of A[r, ·] times the other factor
    const t = new Float64Array(k * n);
    for (let r = 0; r < k; r++) {
      const row = r * size;
      const out = r * n;
      for (let c = 0; c < channels; c++) {
        const at = row + c * k2;
        if (solveFor === 'p') {
          let acc = 0;
          for (let tap = 0; tap < k2; tap++) acc += xx[at + tap] * other[tap];
          t[out + c] = acc;
        } else {
          const f = other[c];
          for (let tap = 0; tap < k2; tap++) t[out + tap] += xx[at + tap] * f;
        }
      }
    }
    const m = new Float64Array(n * n);
    for (let c = 0; c < channels; c++)
      for (let tap = 0; tap < k2; tap++) {
        const r = c * k2 + tap;
        const [i, f] = solveFor === 'p' ? [c, other[tap]] : [tap, other[c]];
        for (let j = 0; j < n; j++) m[i * n + j] += alpha * f * t[r * n + j];
      }
    const times = (v: Float64Array) => {
      const out = new Float64Array(k);
      for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) out[r] += t[r * n + j] * v[j];
      return out;
    };
    return { m, times };
  }

  /** The moments of u = wᵀX: Σu, Σu², Σ u·y_c (per channel of the whole layer); `aw` = A·w when already known. */
  private moments(w: Float64Array, aw?: Float64Array): { su: number; suu: number; suy: Float64Array } {
    const { xx, xy } = this.stats;
    const { k, size, cout } = this;
    let su = 0, suu = 0;
    const suy = new Float64Array(cout);
    for (let r = 0; r < k; r++) {
      const wr = w[r];
      if (wr === 0) continue;
      const row = r * size;
      let ar = 0;
      if (aw) ar = aw[r];
      else for (let q = 0; q < k; q++) ar += xx[row + q] * w[q];
      suu += wr * ar;
      su += wr * xx[row + k];
      for (let c = 0; c < cout; c++) suy[c] += wr * xy[r * cout + c];
    }
    return { su, suu, suy };
  }

  private channelLoss(c: number, a: number, s: number, m: { su: number; suu: number; suy: Float64Array }): number {
    const { yy, xy, count } = this.stats;
    const sy = xy[this.k * this.cout + c];
    return yy[c] - 2 * (a * m.suy[c] + s * sy) + a * a * m.suu + 2 * a * s * m.su + s * s * count;
  }

  /** Σ over the group's channels of ‖y_c − a_c·u − s_c‖². */
  groupLoss(w: Float64Array, channels: number[], a: Float64Array, s: Float64Array, m = this.moments(w)): number {
    return channels.reduce((sum, c, t) => sum + this.channelLoss(c, a[t], s[t], m), 0);
  }

  /** Sets a_c, s_c to the least-squares regression of y_c on u (in place) and returns the group's loss. */
  fitAffine(w: Float64Array, channels: number[], a: Float64Array, s: Float64Array, aw?: Float64Array): number {
    const m = this.moments(w, aw);
    const { xy, count } = this.stats;
    const n = count;
    const varU = m.suu - (m.su * m.su) / n;
    channels.forEach((c, t) => {
      const sy = xy[this.k * this.cout + c];
      const cov = m.suy[c] - (m.su * sy) / n;
      a[t] = varU > 1e-12 * Math.max(m.suu, Number.MIN_VALUE) ? cov / varU : 0;
      s[t] = (sy - a[t] * m.su) / n;
    });
    return this.groupLoss(w, channels, a, s, m);
  }
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
