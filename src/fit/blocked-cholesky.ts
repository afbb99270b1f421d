import { cholesky, dampedFactor, dampingSteps, DEFAULT_DAMPING } from './cholesky.js';
import type { Gemms } from './gemm.js';

/** Columns per block; systems of fewer than two blocks are factored by dampedFactor in one piece. */
const BLOCK = 512;

/** Solves (M + δ·I)·X = B for right-hand sides B (n values, or n×k row-major) given later. */
export type DampedSolve = (b: Float64Array) => Promise<Float64Array>;

/**
 * dampedFactor (the same M + δ·I, the same ridges tried in turn, undefined when M is zero) for systems too large to
 * factor in a TypeScript loop: the low-rank fit of a 3×3 conv with 512 input channels has n = 4,608 unknowns, an
 * n³/3 factorization and 2·n²·C_out of substitutions. Blocked, right-looking: each block's diagonal is factored and
 * inverted here (BLOCK³ work), and the panel solve, the trailing update and the substitutions are products on
 * onnxruntime (`gemms`).
 */
export async function blockedDampedFactor(m: Float64Array, n: number, gemms: Gemms, damping = DEFAULT_DAMPING): Promise<DampedSolve | undefined> {
  if (n < 2 * BLOCK) {
    const solve = dampedFactor(m, n, damping);
    return solve && (async (b) => solve(b));
  }
  for (const delta of dampingSteps(m, n, damping)) {
    const blocks = await factorBlocks(m, n, delta, gemms);
    if (blocks) return (b) => substitute(blocks, b, n, gemms);
  }
  return undefined;
}

/** Rows offset … offset+size of L: the inverse of the diagonal block, and the panel below it ((n − offset − size) × size). */
interface Block {
  offset: number;
  size: number;
  inverse: Float64Array;
  panel: Float64Array;
}

async function factorBlocks(m: Float64Array, n: number, delta: number, gemms: Gemms): Promise<Block[] | undefined> {
  // The trailing matrix, contiguous: M + δ·I from M's lower triangle, then its Schur complements.
  let trailing: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) trailing[i * n + j] = trailing[j * n + i] = m[i * n + j];
    trailing[i * n + i] += delta;
  }
  const blocks: Block[] = [];
  for (let offset = 0, s = n; s > 0; ) {
    const size = Math.min(BLOCK, s), rest = s - size;
    const diagonal = cholesky(submatrix(trailing, s, 0, 0, size, size), size, 0);
    if (!diagonal) return undefined;
    const inverse = lowerInverse(diagonal, size);
    let panel: Float64Array = new Float64Array(0);
    if (rest > 0) {
      // L21 = A21·L11⁻ᵀ, then A22 − L21·L21ᵀ.
      panel = await gemms.run({ a: submatrix(trailing, s, size, 0, rest, size), b: inverse, rows: rest, inner: size, cols: size, transB: true });
      trailing = await gemms.run({ a: panel, b: panel, rows: rest, inner: size, cols: rest, transB: true, minus: submatrix(trailing, s, size, size, rest, rest) });
    }
    blocks.push({ offset, size, inverse, panel });
    offset += size;
    s = rest;
  }
  return blocks;
}

/** X with L·Lᵀ·X = B, block by block: forward with the panels below each diagonal, then back with their transposes. */
async function substitute(blocks: Block[], b: Float64Array, n: number, gemms: Gemms): Promise<Float64Array> {
  if (b.length % n !== 0) throw new RangeError(`solveDamped: expected a multiple of ${n} values, found ${b.length}`);
  const cols = b.length / n;
  const x = Float64Array.from(b);
  const rowsOf = (from: number, to: number) => x.slice(from * cols, to * cols);
  for (const { offset, size, inverse, panel } of blocks) {
    const end = offset + size;
    const y = await gemms.run({ a: inverse, b: rowsOf(offset, end), rows: size, inner: size, cols });
    x.set(y, offset * cols);
    if (end < n) x.set(await gemms.run({ a: panel, b: y, rows: n - end, inner: size, cols, minus: rowsOf(end, n) }), end * cols);
  }
  for (const { offset, size, inverse, panel } of [...blocks].reverse()) {
    const end = offset + size;
    const z = end < n ? await gemms.run({ a: panel, b: rowsOf(end, n), rows: size, inner: n - end, cols, transA: true, minus: rowsOf(offset, end) }) : rowsOf(offset, end);
    x.set(await gemms.run({ a: inverse, b: z, rows: size, inner: size, cols, transA: true }), offset * cols);
  }
  return x;
}

/** Rows × cols of the row-major `stride`-wide matrix x, from (top, left), contiguous. */
function submatrix(x: Float64Array, stride: number, top: number, left: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(x.subarray((top + i) * stride + left, (top + i) * stride + left + cols), i * cols);
  return out;
}

/** L⁻¹ of a lower-triangular L (n × n), by forward substitution on the identity's columns. */
function lowerInverse(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[i * n + k] * inv[k * n + j];
      inv[i * n + j] = -s / l[i * n + i];
    }
  }
  return inv;
}
