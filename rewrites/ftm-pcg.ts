/**
 * Preconditioned conjugate gradients for many SPD systems H_i x_i = b_i at once (one per column), each with its own
 * matrix, when the products H·v of all columns are cheap together (one batched GEMM) and factorizations are not.
 * Vectors are `size` × columns, row-major (column i = system i). A column stops when ‖r_i‖ ≤ residual·‖b_i‖, when a
 * step lowered f = ½xᵀHx − bᵀx by less than minGain[i], or after maxSteps products. Started from x, every step lowers
 * f: a warm start is never made worse.
 */
export interface BatchedSystems {
  size: number;
  columns: number;
  b: Float64Array;
  /** The start, and H·x at it (the caller often has it already). */
  x: Float64Array;
  hx: Float64Array;
  /** H·v for the columns `which` (v is size × which.length, column i = system which[i]); same shape out. */
  apply(v: Float64Array, which: number[]): Promise<Float64Array>;
  /** An approximation of H⁻¹·r for the columns `which`; same shape out (it may overwrite r). */
  precondition(r: Float64Array, which: number[]): Promise<Float64Array>;
  /** Relative residual at which a system counts as solved. */
  residual: number;
  /** Per column: a step that lowers f by less than this is the last. */
  minGain: Float64Array;
  maxSteps: number;
}

export async function conjugateGradients(sys: BatchedSystems): Promise<Float64Array> {
  const { size, columns: count } = sys;
  const x = Float64Array.from(sys.x);
  const r = new Float64Array(size * count);
  for (let e = 0; e < r.length; e++) r[e] = sys.b[e] - sys.hx[e];
  const bNorm = columnNorms(sys.b, size, count, allColumns(count));
  let which = allColumns(count).filter((i) => columnNorm(r, size, count, i) > sys.residual * bNorm[i]);
  if (!which.length) return x;
  let z = await sys.precondition(pick(r, size, count, which), which);
  let dir = Float64Array.from(z);
  let rz = dots(pick(r, size, count, which), z, size, which.length);
  for (let step = 0; step < sys.maxSteps && which.length; step++) {
    const q = await sys.apply(dir, which);
    const w = which.length;
    const dq = dots(dir, q, size, w);
    const keep: number[] = [];
    which.forEach((col, i) => {
      const a = dq[i] > 0 ? rz[i] / dq[i] : 0;
      let rr = 0;
      for (let e = 0; e < size; e++) {
        x[e * count + col] += a * dir[e * w + i];
        const v = (r[e * count + col] -= a * q[e * w + i]);
        rr += v * v;
      }
      // the step lowered f by a·rᵀz/2
      if (a > 0 && Math.sqrt(rr) > sys.residual * bNorm[col] && (a * rz[i]) / 2 >= sys.minGain[col]) keep.push(i);
    });
    if (!keep.length) break;
    const next = keep.map((i) => which[i]);
    const rNext = pick(r, size, count, next);
    const zNext = await sys.precondition(Float64Array.from(rNext), next);
    const rzNext = dots(rNext, zNext, size, next.length);
    const dirNext = new Float64Array(size * next.length);
    keep.forEach((i, k) => {
      const beta = rzNext[k] / rz[i];
      for (let e = 0; e < size; e++) dirNext[e * next.length + k] = zNext[e * next.length + k] + beta * dir[e * w + i];
    });
    [which, z, dir, rz] = [next, zNext, dirNext, rzNext];
  }
  return x;
}

const allColumns = (count: number) => Array.from({ length: count }, (_, i) => i);

/** The columns `which` of a size × count matrix, as size × which.length. */
function pick(v: Float64Array, size: number, count: number, which: number[]): Float64Array {
  const out = new Float64Array(size * which.length);
  for (let e = 0; e < size; e++) which.forEach((col, i) => (out[e * which.length + i] = v[e * count + col]));
  return out;
}

function dots(u: Float64Array, v: Float64Array, size: number, w: number): Float64Array {
  const out = new Float64Array(w);
  for (let e = 0; e < size; e++) for (let i = 0; i < w; i++) out[i] += u[e * w + i] * v[e * w + i];
  return out;
}

function columnNorm(v: Float64Array, size: number, count: number, col: number): number {
  let s = 0;
  for (let e = 0; e < size; e++) s += v[e * count + col] ** 2;
  return Math.sqrt(s);
}

function columnNorms(v: Float64Array, size: number, count: number, which: number[]): number[] {
  return which.map((col) => columnNorm(v, size, count, col));
}
