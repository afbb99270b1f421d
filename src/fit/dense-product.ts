import { DataType } from '../ir/dtype.js';
import { newModel } from '../ir/model.js';
import { Runner } from '../runtime/session.js';

/**
 * A fixed float64 matrix A (rows × cols, row-major) multiplied by many matrices B (cols × m) over time: in TypeScript
 * when small, as one GEMM on onnxruntime when the product is large enough to pay for the call.
 */
export class DenseProduct {
  private runner: Runner | undefined;

  constructor(
    private readonly a: Float64Array,
    readonly rows: number,
    readonly cols: number,
    private readonly threads?: number,
  ) {
    if (a.length !== rows * cols) throw new RangeError(`DenseProduct: expected ${rows}×${cols} values, found ${a.length}`);
  }

  /** A·B, rows × m. */
  async times(b: Float64Array): Promise<Float64Array> {
    const { a, rows, cols } = this;
    const m = b.length / cols;
    if (!Number.isInteger(m)) throw new RangeError(`DenseProduct: expected ${cols}×m values, found ${b.length}`);
    if (rows * cols * m >= ONNXRUNTIME_FROM) {
      this.runner ??= await Runner.create(productModel(), { threads: this.threads });
      const out = await this.runner.run({ a: { data: a, dims: [rows, cols] }, b: { data: b, dims: [cols, m] } });
      return out.c.data as Float64Array;
    }
    const out = new Float64Array(rows * m);
    for (let i = 0; i < rows; i++)
      for (let k = 0; k < cols; k++) {
        const f = a[i * cols + k];
        if (f !== 0) for (let j = 0; j < m; j++) out[i * m + j] += f * b[k * m + j];
      }
    return out;
  }

  async release(): Promise<void> {
    await this.runner?.release();
    this.runner = undefined;
  }
}

/** Multiply-adds from which a product runs on onnxruntime. */
const ONNXRUNTIME_FROM = 2 ** 24;

function productModel() {
  const model = newModel(13);
  const g = model.graph;
  const [a, b] = ['a', 'b'].map((name) => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.DOUBLE, shape: [{ param: `${name}_rows` }, { param: `${name}_cols` }] };
    g.inputs.push(v);
    return v;
  });
  g.outputs.push(g.addNode({ op: 'MatMul', inputs: [a, b], name: 'matmul', outputs: ['c'] }).outputs[0]!);
  return model;
}
