import { DataType } from '../ir/dtype.js';
import { newModel, type Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import type { AttrInit } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Runner } from '../runtime/session.js';

/**
 * Products of a symmetric K×K matrix A, K = n·t (entry c·t + κ: channel c, tap κ, as in a patch), with Kronecker
 * vectors p ⊗ d, for m pairs at once on onnxruntime in float64. They are what an alternating least-squares fit of
 * rank-1 kernels needs from the patch statistics: every pair costs K² multiply-adds, which one batched GEMM does for all
 * pairs (TypeScript loops would do them m times, at a tenth of the speed).
 *
 * Batched vectors are column-major in the pair: p is n × m (column j = pair j), d is t × m.
 */
export class KroneckerProducts {
  private runner: Runner | undefined;

  private constructor(
    /** A regrouped by tap: byTap[κ', r, c] = A[r, c·t + κ'], t × K × n. */
    private readonly byTap: Float64Array,
    readonly n: number,
    readonly t: number,
    private readonly threads: number | undefined,
  ) {}

  static create(a: Float64Array, n: number, t: number, options: { threads?: number } = {}): KroneckerProducts {
    const k = n * t;
    if (a.length !== k * k) throw new RangeError(`KroneckerProducts: expected a ${k}×${k} matrix, found ${a.length} values`);
    const byTap = new Float64Array(k * k);
    for (let r = 0; r < k; r++)
      for (let c = 0; c < n; c++)
        for (let tap = 0; tap < t; tap++) byTap[(tap * k + r) * n + c] = a[r * k + c * t + tap];
    return new KroneckerProducts(byTap, n, t, options.threads);
  }

  /**
   * For each pair j: T_j = A (p_j ⊗ I_t), returned as one m × t × K array (entry [j, κ', r] = (A (p_j ⊗ e_κ'))_r),
   * and (I ⊗ d_j)ᵀ A (p_j ⊗ d_j), n values, as n × m. Only the outputs asked for are returned. Small products run
   * here, where an onnxruntime call would cost more than the arithmetic.
   */
  async products(p: Float64Array, d: Float64Array, want: { columns?: boolean; contracted?: boolean }): Promise<{ columns?: Float64Array; contracted?: Float64Array }> {
    const { n, t } = this;
    const k = n * t;
    const m = p.length / n;
    if (!Number.isInteger(m) || d.length !== t * m) throw new RangeError(`KroneckerProducts: expected p of ${n}×m and d of ${t}×m values, found ${p.length} and ${d.length}`);
    if (k * k * m < ONNXRUNTIME_FROM) return this.productsHere(p, d, m, want);
    this.runner ??= await Runner.create(productsModel(), { threads: this.threads });
    const fetch = [...(want.columns ? [OUT.columns] : []), ...(want.contracted ? [OUT.contracted] : [])];
    const out = await this.runner.run({ a: { data: this.byTap, dims: [t, k, n] }, p: { data: p, dims: [n, m] }, d: { data: d, dims: [t, m] } }, fetch);
    const get = (name: string) => (out[name] ? (out[name].data as Float64Array) : undefined);
    return { columns: get(OUT.columns), contracted: get(OUT.contracted) };
  }

  async release(): Promise<void> {
    await this.runner?.release();
    this.runner = undefined;
  }

  /** The same products in TypeScript. */
  private productsHere(p: Float64Array, d: Float64Array, m: number, want: { columns?: boolean; contracted?: boolean }) {
    const { n, t, byTap } = this;
    const k = n * t;
    const columns = new Float64Array(m * t * k);
    const pj = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < n; c++) pj[c] = p[c * m + j];
      for (let tap = 0; tap < t; tap++)
        for (let r = 0; r < k; r++) {
          const row = (tap * k + r) * n;
          let v = 0;
          for (let c = 0; c < n; c++) v += byTap[row + c] * pj[c];
          columns[(j * t + tap) * k + r] = v;
        }
    }
    let contracted: Float64Array | undefined;
    if (want.contracted) {
      contracted = new Float64Array(n * m);
      for (let j = 0; j < m; j++)
        for (let tap = 0; tap < t; tap++)
          for (let r = 0; r < k; r++) contracted[Math.floor(r / t) * m + j] += d[(r % t) * m + j] * d[tap * m + j] * columns[(j * t + tap) * k + r];
    }
    return { columns: want.columns ? columns : undefined, contracted };
  }
}

/** Multiply-adds (K²·m) from which a batch of products runs on onnxruntime. */
const ONNXRUNTIME_FROM = 2 ** 26;

const OUT = { columns: 'columns', contracted: 'contracted' } as const;

/** The graph: inputs a [t, K, n], p [n, m], d [t, m]; outputs columns = a·p as [m, t, K] and the contraction [n, m]. */
function productsModel(): Model {
  const model = newModel(13);
  const g = model.graph;
  const input = (name: string, dims: string[]) => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.DOUBLE, shape: dims.map((param) => ({ param })) };
    g.inputs.push(v);
    return v;
  };
  const a = input('a', ['t', 'K', 'n']);
  const p = input('p', ['n', 'm']);
  const d = input('d', ['t', 'm']);
  const node = (op: string, inputs: Value[], attrs: Record<string, AttrInit> = {}, output?: string) =>
    g.addNode({ op, inputs, attrs, name: op.toLowerCase(), outputs: output ? [output] : undefined }).outputs[0]!;
  const i64 = (name: string, values: number[]) => g.addInitializer(name, Tensor.int64([values.length], values));
  const [axis0, axis1] = [i64('axis0', [0]), i64('axis1', [1])];
  const dim = (x: Value, i: number) => node('Slice', [node('Shape', [x]), i64(`from${i}`, [i]), i64(`to${i}`, [i + 1])]);

  const product = node('MatMul', [a, p]); // [t, K, m]
  const columns = node('Transpose', [product], { perm: [2, 0, 1] }, OUT.columns); // group-major, for the per-group reads
  // Σ_κ' d[κ', j]·product[κ', r, j] = (A (p_j ⊗ d_j))_r, then Σ_κ d[κ, j]·(that)[c·t + κ, j]
  const applied = node('ReduceSum', [node('Mul', [product, node('Unsqueeze', [d, axis1])]), axis0], { keepdims: 0 }); // [K, m]
  const split = node('Reshape', [applied, node('Concat', [dim(p, 0), dim(d, 0), dim(d, 1)], { axis: 0 })]); // [n, t, m]
  const contracted = node('ReduceSum', [node('Mul', [split, node('Unsqueeze', [d, axis0])]), axis1], { keepdims: 0 }, OUT.contracted);
  g.outputs.push(columns, contracted);
  return model;
}
