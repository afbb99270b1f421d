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
  private readonly runners: Partial<Record<keyof typeof OUT, Promise<Runner>>> = {};

  private constructor(
    /** A with each row's entries ordered tap-major: byTap[r, κ', c] = A[r, c·t + κ'], K × t × n. */
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
        for (let tap = 0; tap < t; tap++) byTap[(r * t + tap) * n + c] = a[r * k + c * t + tap];
    return new KroneckerProducts(byTap, n, t, options.threads);
  }

  /**
   * For each pair j: T_j = A (p_j ⊗ I_t), returned as one K × t × m array (entry [r, κ', j] = (A (p_j ⊗ e_κ'))_r),
   * and (I ⊗ d_j)ᵀ A (p_j ⊗ d_j), n values, as n × m. Only the outputs asked for are computed: each is one GEMM of
   * K²·m multiply-adds, the contraction multiplying A by the Kronecker vectors themselves rather than summing the t
   * columns of T_j, whose t·K·m intermediate cost more than the GEMM to write and read. Small products run here, where
   * an onnxruntime call would cost more than the arithmetic.
   */
  async products(p: Float64Array, d: Float64Array, want: { columns?: boolean; contracted?: boolean }): Promise<{ columns?: Float64Array; contracted?: Float64Array }> {
    const { n, t } = this;
    const k = n * t;
    const m = p.length / n;
    if (!Number.isInteger(m) || d.length !== t * m) throw new RangeError(`KroneckerProducts: expected p of ${n}×m and d of ${t}×m values, found ${p.length} and ${d.length}`);
    if (k * k * m < ONNXRUNTIME_FROM) return this.productsHere(p, d, m, want);
    const feeds = { a: { data: this.byTap, dims: [k, t, n] }, p: { data: p, dims: [n, m] }, d: { data: d, dims: [t, m] } };
    const run = async (output: keyof typeof OUT) => {
      const runner = await (this.runners[output] ??= Runner.create(output === 'columns' ? columnsModel() : contractedModel(), { threads: this.threads }));
      const { [OUT[output]]: result } = await runner.run(output === 'columns' ? { a: feeds.a, p: feeds.p } : feeds);
      return result.data as Float64Array;
    };
    return { columns: want.columns ? await run('columns') : undefined, contracted: want.contracted ? await run('contracted') : undefined };
  }

  async release(): Promise<void> {
    const runners = await Promise.all(Object.values(this.runners));
    for (const key of Object.keys(this.runners) as (keyof typeof OUT)[]) delete this.runners[key];
    await Promise.all(runners.map((r) => r.release()));
  }

  /** The same products in TypeScript. */
  private productsHere(p: Float64Array, d: Float64Array, m: number, want: { columns?: boolean; contracted?: boolean }) {
    const { n, t, byTap } = this;
    const k = n * t;
    const columns = new Float64Array(k * t * m);
    for (let row = 0; row < k * t; row++)
      for (let c = 0; c < n; c++) {
        const f = byTap[row * n + c];
        if (f !== 0) for (let j = 0; j < m; j++) columns[row * m + j] += f * p[c * m + j];
      }
    let contracted: Float64Array | undefined;
    if (want.contracted) {
      contracted = new Float64Array(n * m);
      for (let r = 0; r < k; r++)
        for (let tap = 0; tap < t; tap++)
          for (let j = 0; j < m; j++) contracted[Math.floor(r / t) * m + j] += d[(r % t) * m + j] * d[tap * m + j] * columns[(r * t + tap) * m + j];
    }
    return { columns: want.columns ? columns : undefined, contracted };
  }
}

/** Multiply-adds (K²·m) from which a batch of products runs on onnxruntime. */
const ONNXRUNTIME_FROM = 2 ** 26;

const OUT = { columns: 'columns', contracted: 'contracted' } as const;

/** A graph builder over float64 inputs with symbolic dims. */
function productsGraph(inputs: Record<string, string[]>) {
  const model = newModel(13);
  const g = model.graph;
  const values = Object.entries(inputs).map(([name, dims]) => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.DOUBLE, shape: dims.map((param) => ({ param })) };
    g.inputs.push(v);
    return v;
  });
  const node = (op: string, args: Value[], attrs: Record<string, AttrInit> = {}, output?: string) =>
    g.addNode({ op, inputs: args, attrs, name: op.toLowerCase(), outputs: output ? [output] : undefined }).outputs[0]!;
  const i64 = (name: string, v: number[]) => g.addInitializer(name, Tensor.int64([v.length], v));
  const dim = (x: Value, i: number) => node('Slice', [node('Shape', [x]), i64(`from${i}`, [i]), i64(`to${i}`, [i + 1])]);
  return { model, values, node, i64, dim };
}

/** Inputs a [K, t, n], p [n, m]; output columns [K, t, m] = A (p_j ⊗ I_t) per pair (one GEMM, read in place). */
function columnsModel(): Model {
  const { model, values: [a, p], node } = productsGraph({ a: ['K', 't', 'n'], p: ['n', 'm'] });
  model.graph.outputs.push(node('MatMul', [a, p], {}, OUT.columns));
  return model;
}

/**
 * Inputs a [K, t, n], p [n, m], d [t, m]; output contracted [n, m]: w_j = p_j ⊗ d_j laid out like a's rows
 * (tap-major), A·w_j as one GEMM [K, t·n] × [t·n, m], then Σ_κ d[κ, j]·(A w_j)[c·t + κ].
 */
function contractedModel(): Model {
  const { model, values: [a, p, d], node, i64, dim } = productsGraph({ a: ['K', 't', 'n'], p: ['n', 'm'], d: ['t', 'm'] });
  const [axis0, axis1] = [i64('axis0', [0]), i64('axis1', [1])];
  const kron = node('Mul', [node('Unsqueeze', [d, axis1]), node('Unsqueeze', [p, axis0])]); // [t, n, m]
  const w = node('Reshape', [kron, node('Concat', [i64('rest', [-1]), dim(p, 1)], { axis: 0 })]); // [t·n, m]
  const applied = node('MatMul', [node('Reshape', [a, i64('rows', [0, -1])]), w]); // [K, m]
  const split = node('Reshape', [applied, node('Concat', [dim(p, 0), dim(d, 0), dim(d, 1)], { axis: 0 })]); // [n, t, m]
  model.graph.outputs.push(node('ReduceSum', [node('Mul', [split, node('Unsqueeze', [d, axis0])]), axis1], { keepdims: 0 }, OUT.contracted));
  return model;
}
