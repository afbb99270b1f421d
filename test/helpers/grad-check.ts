import * as ort from 'onnxruntime-node';
import type { KnownShapes } from '../../src/analysis/shapes.js';
import { buildTrainingGraph } from '../../src/grad/training-graph.js';
import type { TrainingGraph } from '../../src/grad/types.js';
import { AttrType, cloneModel, DataType, encodeModel, type Model, type Tensor, type ValueType } from '../../src/index.js';
import { feedAsInput } from '../../src/graph/feed-as-input.js';
import { randomFloats } from './build.js';

export interface Feed {
  data: Float32Array;
  dims: number[];
}

export interface GradCheckOptions {
  /** The student's (untrained) graph inputs. */
  feeds?: Record<string, Feed>;
  /** Shapes the training graph is built with (TrainingGraphOptions.shapes). */
  shapes?: KnownShapes;
  /** Central-difference step; default 1e-4 when the forward runs in float64, 1e-2 in float32. */
  eps?: number;
  /** Random single coordinates checked per trainable (default 4) and random directions (default 2). */
  coordinates?: number;
  directions?: number;
  seed?: number;
}

export interface GradCheckResult {
  /** Largest error of an analytic directional derivative against its finite difference, relative (see below). */
  worst: number;
  /** Whether the finite differences ran in float64 (every op of the forward has a double kernel on onnxruntime). */
  double: boolean;
  checks: number;
  training: TrainingGraph;
}

type Array64 = Float32Array | Float64Array;

/**
 * Checks the gradients of `model`'s training graph (MSE loss against a random teacher) against central differences
 * of the same loss, computed from the forward model on onnxruntime, in float64 when its ops allow (the loss itself
 * is summed in float64 here). Each check compares ⟨g, v⟩ with (L(p + εv) − L(p − εv))/2ε for v a single coordinate
 * or a random direction; the error is |analytic − numeric| / max(|numeric|, 1e-2·‖g‖·‖v‖/√len): the floor, a hundredth
 * of a typical directional derivative, keeps derivatives that cancel to near zero from dividing float32 rounding by
 * nothing.
 */
export async function checkGradients(model: Model, trainable: string[], options: GradCheckOptions = {}): Promise<GradCheckResult> {
  const training = buildTrainingGraph(model, { trainable, loss: { kind: 'mse' }, ...(options.shapes ? { shapes: options.shapes } : {}) });
  const feeds = options.feeds ?? {};
  const params = new Map(trainable.map((n) => [n, model.graph.lookup(n)!.initializer!]));
  const forward = await ForwardModel.create(model, trainable);
  const y0 = await forward.run(feeds, params, new Map());
  const scale = Math.sqrt(sumOfSquares(y0.data) / y0.data.length) + 0.1;
  const teacher = Float32Array.from(randomFloats(y0.data.length, (options.seed ?? 1) + 99), (v) => v * scale);
  const lossOf = (y: Array64) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] - teacher[i]) ** 2;
    return s / y.length;
  };

  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const inputs: Record<string, ort.Tensor> = { teacher: new ort.Tensor('float32', teacher, y0.dims) };
  for (const [k, f] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', f.data, f.dims);
  for (const n of training.trainable) inputs[n] = new ort.Tensor('float32', params.get(n)!.toFloat32(), params.get(n)!.dims);
  const out = await session.run(inputs);
  await session.release();
  const loss = (out.loss.data as Float32Array)[0];
  if (Math.abs(loss - lossOf(y0.data)) > 1e-4 * Math.max(1, loss)) throw new Error(`training loss ${loss} differs from the forward's ${lossOf(y0.data)}`);

  const eps = options.eps ?? (forward.double ? 1e-4 : 1e-2);
  let worst = 0, checks = 0;
  for (const [k, name] of training.trainable.entries()) {
    const g = out[`grad:${name}`].data as Float32Array;
    const size = g.length;
        const coords = randomFloats(options.coordinates ?? 4, (options.seed ?? 1) + 7 * k).map((r) => Math.floor(((r + 1) / 2) * size));
    const dirs: Float64Array[] = [
      ...Array.from(coords, (c) => Float64Array.from({ length: size }, (_, i) => (i === c ? 1 : 0))),
      ...Array.from({ length: options.directions ?? 2 }, (_, d) => Float64Array.from(randomFloats(size, (options.seed ?? 1) + 31 * k + d))),
    ];
    for (const v of dirs) {
      const shifted = async (sign: number) => lossOf((await forward.run(feeds, params, new Map([[name, v.map((x) => sign * eps * x)]]))).data);
      const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * eps);
      let analytic = 0;
      for (let i = 0; i < size; i++) analytic += g[i] * v[i];
      const floor = (1e-2 * Math.sqrt(sumOfSquares(g) * sumOfSquares(v))) / Math.sqrt(size);
      worst = Math.max(worst, Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), floor, 1e-12));
      checks++;
    }
  }
  await forward.release();
  return { worst, double: forward.double, checks, training };
}

/** The student with its trainables as graph inputs, run in float64 when onnxruntime has double kernels for its ops. */
class ForwardModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly double: boolean,
    private readonly output: string,
  ) {}

  static async create(model: Model, trainable: string[]): Promise<ForwardModel> {
    const copy = cloneModel(model);
    const g = copy.graph;
    for (const name of trainable) feedAsInput(g, g.lookup(name)!);
    g.outputs = [g.outputs[0]];
    const output = g.outputs[0].name;
    try {
      return new ForwardModel(await ort.InferenceSession.create(encodeModel(toDouble(copy))), true, output);
    } catch {
      return new ForwardModel(await ort.InferenceSession.create(encodeModel(copy)), false, output);
    }
  }

  /** The output for parameters `params` plus `deltas` (by name, float64). */
  async run(feeds: Record<string, Feed>, params: Map<string, Tensor>, deltas: Map<string, Float64Array>): Promise<{ data: Array64; dims: number[] }> {
    const type = this.double ? 'float64' : 'float32';
    const make = (data: ArrayLike<number>) => (this.double ? Float64Array.from(data) : Float32Array.from(data));
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, f] of Object.entries(feeds)) inputs[k] = new ort.Tensor(type, make(f.data), f.dims);
    for (const [name, t] of params) {
      const base = make(t.toFloat32());
      const d = deltas.get(name);
      if (d) base.forEach((x, i) => (base[i] = x + d[i]));
      inputs[name] = new ort.Tensor(type, base, t.dims);
    }
    const out = (await this.session.run(inputs))[this.output];
    return { data: out.data as Array64, dims: [...out.dims] };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** A copy of the model computing in float64: float tensors, types and Cast targets become double. */
function toDouble(model: Model): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const retype = (t: ValueType | undefined) => {
    if (t?.kind === 'tensor' && t.elemType === DataType.FLOAT) t.elemType = DataType.DOUBLE;
  };
  const widen = (t: Tensor) => {
    if (t.dataType !== DataType.FLOAT) return;
    const data = Float64Array.from(t.toFloat32());
    t.dataType = DataType.DOUBLE;
    t.data = data;
  };
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) retype(v.type);
  for (const v of g.initializers) widen(v.initializer!);
  for (const n of g.nodes) {
    for (const a of n.attributes) if (a.type === AttrType.TENSOR) widen(a.value as Tensor);
    if (n.opType === 'Cast' && n.getInt('to', 0) === DataType.FLOAT) n.setAttr('to', DataType.DOUBLE);
  }
  return copy;
}

function sumOfSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}
