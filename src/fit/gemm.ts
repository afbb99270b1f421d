import { DataType } from '../ir/dtype.js';
import { newModel } from '../ir/model.js';
import { Runner } from '../runtime/session.js';

/** One float64 matrix product, all matrices row-major: op(A)·op(B), or C − op(A)·op(B) when `minus` holds C. */
export interface GemmTerms {
  a: Float64Array;
  b: Float64Array;
  /** op(A) is rows × inner, op(B) is inner × cols. */
  rows: number;
  inner: number;
  cols: number;
  /** A is stored inner × rows (op(A) = Aᵀ). */
  transA?: boolean;
  /** B is stored cols × inner (op(B) = Bᵀ). */
  transB?: boolean;
  /** C, rows × cols. */
  minus?: Float64Array;
}

/**
 * The fitting's dense float64 products: in TypeScript when small, as one Gemm on onnxruntime when the product is large
 * enough to pay for the call (where it runs many times faster than a TypeScript loop). Keeps one session per kind of
 * product until `release`.
 */
export class Gemms {
  private readonly runners = new Map<string, Promise<Runner>>();

  constructor(private readonly threads?: number) {}

  async run(terms: GemmTerms): Promise<Float64Array> {
    const { a, b, rows, inner, cols, transA = false, transB = false, minus } = terms;
    if (a.length !== rows * inner || b.length !== inner * cols || (minus && minus.length !== rows * cols)) {
      throw new RangeError(`Gemms: expected ${rows}×${inner}, ${inner}×${cols}${minus ? ` and ${rows}×${cols}` : ''} values, found ${a.length}, ${b.length}${minus ? ` and ${minus.length}` : ''}`);
    }
    if (rows * inner * cols < ONNXRUNTIME_FROM) return productHere(terms);
    const key = `${+transA}${+transB}${+!!minus}`;
    let runner = this.runners.get(key);
    if (!runner) this.runners.set(key, (runner = Runner.create(gemmModel(transA, transB, !!minus), { threads: this.threads })));
    const feeds = {
      a: { data: a, dims: transA ? [inner, rows] : [rows, inner] },
      b: { data: b, dims: transB ? [cols, inner] : [inner, cols] },
      ...(minus ? { c: { data: minus, dims: [rows, cols] } } : {}),
    };
    const out = await (await runner).run(feeds);
    return out.y.data as Float64Array;
  }

  async release(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    for (const r of runners) await (await r).release();
  }
}

/** Multiply-adds from which a product runs on onnxruntime. */
const ONNXRUNTIME_FROM = 2 ** 24;

function productHere({ a, b, rows, inner, cols, transA, transB, minus }: GemmTerms): Float64Array {
  const at = (i: number, k: number) => (transA ? a[k * rows + i] : a[i * inner + k]);
  const bRows = transB ? transpose(b, cols, inner) : b;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < inner; k++) {
      const f = at(i, k);
      if (f !== 0) for (let j = 0; j < cols; j++) out[i * cols + j] += f * bRows[k * cols + j];
    }
  if (minus) for (let i = 0; i < out.length; i++) out[i] = minus[i] - out[i];
  return out;
}

function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

function gemmModel(transA: boolean, transB: boolean, minus: boolean) {
  const model = newModel(13);
  const g = model.graph;
  const inputs = (minus ? ['a', 'b', 'c'] : ['a', 'b']).map((name) => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.DOUBLE, shape: [{ param: `${name}_rows` }, { param: `${name}_cols` }] };
    g.inputs.push(v);
    return v;
  });
  const attrs = { transA: +transA, transB: +transB, alpha: { float: minus ? -1 : 1 } };
  g.outputs.push(g.addNode({ op: 'Gemm', inputs, attrs, name: 'gemm', outputs: ['y'] }).outputs[0]!);
  return model;
}
