import { ftmError } from '../errors.js';
import { convOutputSize, resolvePads, type ConvGeometry } from '../ir/conv.js';
import { DataType } from '../ir/dtype.js';
import { tapSlices } from '../graph/conv-taps.js';
import { newModel, type Model } from '../ir/model.js';
import type { AttrInit } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { PatchLayer, PatchStats } from '../rewrite/fit-contract.js';
import { Runner, type FloatTensor, type TensorValue } from '../runtime/session.js';

/** Empty statistics for a layer. */
export function emptyPatchStats(cin: number, k2: number, cout: number): PatchStats {
  const size = (cin + 1) * k2 + 1;
  return { cin, k2, cout, size, xx: new Float64Array(size * size), xy: new Float64Array(size * cout), yy: new Float64Array(cout), count: 0 };
}

/** Names of the statistics graph's outputs (a graph built here, not the user's). */
const OUT = { xMean: 'x_mean', yMean: 'y_mean', xx: 'xx_centered', xy: 'xy_centered', yy: 'yy_centered' } as const;

/**
 * The per-batch statistics graph for inputs of one spatial size: inputs `x` [N, C_in, H, W] (the layer's input) and
 * `y` [N, C_out, H', W'] (the targets). A ones channel is concatenated to x; the k² tap slices of the result, zero-padded
 * like the layer pads, stacked after the channel axis are the patches (im2col by data movement: cheap next to the
 * GEMMs, where a Conv with a one-hot weight cost as much as the Gram). They become X [K, positions]; Y becomes [C_out, positions]. Both are centered on their batch means before the
 * two GEMMs, so that float32 sums lose precision relative to the spread of the data rather than to its mean; the means
 * come out too, and the exact uncentered sums are rebuilt in float64 (PatchStatsCollector.add).
 */
export function patchStatsModel(layer: PatchLayer, inputSize: readonly [number, number]): Model {
  const { cin, cout, geometry: geo } = layer;
  const [kh, kw] = checkKernel(geo);
  const pads = resolvePads(geo, inputSize);
  const [oh, ow] = convOutputSize({ ...geo, pads }, inputSize);
  const model = newModel(13);
  const g = model.graph;
  const input = (name: string, channels: number, spatial: readonly number[]) => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: channels }, ...spatial.map((value) => ({ value }))] };
    g.inputs.push(v);
    return v;
  };
  const x = input('x', cin, inputSize);
  const y = input('y', cout, [oh, ow]);
  const node = (op: string, inputs: Value[], attrs: Record<string, AttrInit | undefined> = {}, output?: string) =>
    g.addNode({ op, inputs, attrs, name: op.toLowerCase(), outputs: output ? [output] : undefined }).outputs[0]!;
  const i64 = (name: string, values: number[]) => g.addInitializer(name, Tensor.int64([values.length], values));

  const first = node('Slice', [x, i64('zero', [0]), i64('one', [1]), i64('channel_axis', [1])]);
  const ones = node('ConstantOfShape', [node('Shape', [first])], { value: Tensor.float32([1], [1]) });
  const augmented = node('Concat', [x, ones], { axis: 1 });
  let constants = 0;
  const make = { op: node, ints: (values: readonly number[]) => i64(`tap_constant_${constants++}`, [...values]) };
  const tapAxis = i64('tap_axis', [2]);
  const taps = tapSlices(augmented, geo, pads, inputSize, [oh, ow], make).map((tap) => node('Unsqueeze', [tap, tapAxis]));
  // [N, C+1, k², H', W'] flattens to row c·k² + κ: channel c at tap κ, a Conv weight row's layout
  const patches = node('Concat', taps, { axis: 2 });

  // [N, R, ...] → [N, R, H'·W'] → [R, N, H'·W'] → [R, positions]
  const perRow = i64('per_row', [0, -1]);
  const matrix = (t: Value, perSample: Value) => node('Reshape', [node('Transpose', [node('Reshape', [t, perSample])], { perm: [1, 0, 2] }), perRow]);
  const xm = matrix(patches, i64('x_per_sample', [0, (cin + 1) * kh * kw, -1]));
  const ym = matrix(y, i64('y_per_sample', [0, cout, -1]));
  const xMean = node('ReduceMean', [xm], { axes: [1], keepdims: 1 }, OUT.xMean);
  const yMean = node('ReduceMean', [ym], { axes: [1], keepdims: 1 }, OUT.yMean);
  const xc = node('Sub', [xm, xMean]);
  const yc = node('Sub', [ym, yMean]);
  const xx = node('Gemm', [xc, xc], { transB: 1 }, OUT.xx);
  const xy = node('Gemm', [xc, yc], { transB: 1 }, OUT.xy);
  const yy = node('ReduceSumSquare', [yc], { axes: [1], keepdims: 0 }, OUT.yy);
  g.outputs.push(xx, xy, yy, xMean, yMean);
  return model;
}

/**
 * Accumulates PatchStats over batches of (x, y) pairs: one onnxruntime run of `patchStatsModel` per batch (a graph per
 * input size met, usually one), merged in float64. Memory: one batch of activations inside onnxruntime,
 * O(size² + size·C_out) here.
 */
export class PatchStatsCollector {
  readonly stats: PatchStats;
  private readonly rows: number;
  private readonly runners = new Map<string, Promise<Runner>>();

  constructor(
    private readonly layer: PatchLayer,
    private readonly options: { threads?: number } = {},
  ) {
    const [kh, kw] = checkKernel(layer.geometry);
    this.stats = emptyPatchStats(layer.cin, kh * kw, layer.cout);
    this.rows = this.stats.size - 1;
  }

  /** Adds one batch: x [N, C_in, H, W] the layer's input, y [N, C_out, H', W'] its target output. Features [N, C] (a
   * Gemm's) are a 1×1 map: the same data. */
  async add(features: FloatTensor, target: FloatTensor, where = 'layer'): Promise<void> {
    const [x, y] = [asMap(features), asMap(target)];
    const positions = this.checkShapes(x.dims, y.dims, where);
    if (positions === 0) return;
    const out = await (await this.runnerFor(x.dims[2], x.dims[3])).run({ x, y });
    const f = (name: string) => floats(out[name], where);
    const [mx, my, cxx, cxy, cyy] = [f(OUT.xMean), f(OUT.yMean), f(OUT.xx), f(OUT.xy), f(OUT.yy)];
    const { xx, xy, yy, size, cout } = this.stats;
    const k = this.rows;
    const p = positions;
    // Σ X Xᵀ = Σ (X−μ)(X−μ)ᵀ + P·μμᵀ, and the always-1 entry (index k) adds Σ X = P·μ and Σ 1 = P.
    for (let i = 0; i < k; i++) {
      const pmi = p * mx[i];
      for (let j = 0; j < k; j++) xx[i * size + j] += cxx[i * k + j] + pmi * mx[j];
      xx[i * size + k] += pmi;
      xx[k * size + i] += pmi;
      for (let c = 0; c < cout; c++) xy[i * cout + c] += cxy[i * cout + c] + pmi * my[c];
    }
    xx[k * size + k] += p;
    for (let c = 0; c < cout; c++) {
      xy[k * cout + c] += p * my[c];
      yy[c] += cyy[c] + p * my[c] * my[c];
    }
    this.stats.count += p;
  }

  async release(): Promise<void> {
    const runners = await Promise.all(this.runners.values());
    this.runners.clear();
    await Promise.all(runners.map((r) => r.release()));
  }

  private runnerFor(h: number, w: number): Promise<Runner> {
    const key = `${h}x${w}`;
    let runner = this.runners.get(key);
    if (!runner) this.runners.set(key, (runner = Runner.create(patchStatsModel(this.layer, [h, w]), { threads: this.options.threads })));
    return runner;
  }

  /** Positions in the batch; the layer's geometry must map x's spatial size to y's. */
  private checkShapes(xd: readonly number[], yd: readonly number[], where: string): number {
    const { cin, cout, geometry } = this.layer;
    const show = (d: readonly number[]) => `[${d.join(', ')}]`;
    if (xd.length !== 4 || yd.length !== 4 || xd[1] !== cin || yd[1] !== cout || xd[0] !== yd[0]) {
      throw ftmError('E_RULE', `expected an input [N, ${cin}, H, W] and a target [N, ${cout}, H', W'], found ${show(xd)} and ${show(yd)}`, where);
    }
    const spatial = convOutputSize(geometry, xd.slice(2));
    if (spatial[0] !== yd[2] || spatial[1] !== yd[3]) {
      throw ftmError('E_RULE', `the layer maps an input ${show(xd)} to [.., ${spatial.join(', ')}], the target is ${show(yd)}`, where);
    }
    return yd[0] * yd[2] * yd[3];
  }
}

/**
 * Streams (layer input, target output) batches through a PatchStatsCollector and returns the statistics over all of
 * them.
 */
export async function collectLayerStats(
  pairs: AsyncIterable<{ x: FloatTensor; y: FloatTensor }>,
  layer: PatchLayer,
  options: { threads?: number; where?: string } = {},
): Promise<PatchStats> {
  const collector = new PatchStatsCollector(layer, options);
  try {
    for await (const { x, y } of pairs) await collector.add(x, y, options.where);
  } finally {
    await collector.release();
  }
  return collector.stats;
}

const asMap = (t: FloatTensor): FloatTensor => (t.dims.length === 2 ? { data: t.data, dims: [...t.dims, 1, 1] } : t);

function checkKernel(geo: ConvGeometry): [number, number] {
  if (geo.kernel.length !== 2) throw ftmError('E_UNSUPPORTED', `layer fitting handles 2-D convolutions, this one has a ${geo.kernel.length}-D kernel`);
  if (geo.group !== 1) throw ftmError('E_UNSUPPORTED', `layer fitting handles group-1 convolutions, this one has group=${geo.group}`);
  return [geo.kernel[0], geo.kernel[1]];
}

function floats(t: TensorValue | undefined, where: string): Float32Array {
  if (!(t?.data instanceof Float32Array)) throw ftmError('E_RUNTIME', 'expected float32 statistics from onnxruntime', where);
  return t.data;
}
