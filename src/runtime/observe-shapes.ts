import { ftmError } from '../errors.js';
import { modelUpTo } from './capture.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { Runner, type FloatTensor, type RunnerOptions, type TensorValue } from './session.js';
import { inferShapes, type KnownShapes, type Shape } from '../analysis/shapes.js';

/** Integer tensors up to this many elements are read as shape arithmetic, whose contents rules may need. */
const SMALL = 64;

/**
 * Static shape propagation completed by a run of the model on onnxruntime: what propagation cannot give (the shape
 * after a Reshape to a computed shape, the slice bounds computed from a Shape) is tapped and observed. The model runs
 * twice, on the first sample of `batch` and on the first two (the one repeated when there is one): a dim that differs
 * between the runs follows the batch and is kept symbolic (null), and only integer contents that do not differ are
 * recorded. Only values propagation leaves incomplete, and small computed ones, are tapped, and at batch ≤ 2, so a
 * large model at a large input size costs two small runs; when propagation determines everything, nothing runs.
 * The input size is that of `batch`'s samples, and so are the observed dims.
 */
export async function observeShapes(model: Model, inputName: string, batch: FloatTensor, options: RunnerOptions = {}): Promise<KnownShapes> {
  if (!(batch.dims[0] >= 1)) throw ftmError('E_CALIB_EMPTY', 'expected at least one sample to observe the shapes of the model on, found none', model.path);
  const sampleDims = batch.dims.slice(1);
  const dims = new Map<string, (number | null)[]>([[inputName, [null, ...sampleDims]]]);
  const values = new Map<string, number[]>();
  const copy = modelUpTo(model, model.graph.outputs.map((v) => v.name));
  // NaN marks the batch: it propagates through the shape arithmetic, so what follows the batch stays recognizable.
  const shapes = inferShapes(copy.graph, NaN, { dims, values });
  const names = copy.graph.nodes
    .filter((n) => !(n.isOnnxDomain && n.opType === 'Constant'))
    .flatMap((n) => n.outputs)
    .filter((v): v is Value => !!v && needsObserving(shapes.get(v)))
    .map((v) => v.name);
  if (names.length === 0) return { dims, values };

  copy.graph.outputs.push(...names.map((name) => copy.graph.lookup(name)!).filter((v) => !copy.graph.outputs.includes(v)));
  const runner = await Runner.create(copy, options);
  let one: Record<string, TensorValue>, two: Record<string, TensorValue>;
  try {
    one = await runner.run({ [inputName]: firstSamples(batch, 1) }, names);
    two = await runner.run({ [inputName]: firstSamples(batch, 2) }, names);
  } finally {
    await runner.release();
  }
  for (const name of names) {
    const [a, b] = [one[name], two[name]];
    if (a.dims.length !== b.dims.length) continue;
    dims.set(name, a.dims.map((d, i) => (d === b.dims[i] ? d : null)));
    const contents = integerContents(a);
    if (contents && sameContents(contents, integerContents(b))) values.set(name, contents);
  }
  return { dims, values };
}

/** A shape propagation left incomplete (a null dim, or no rank), or a small one whose contents may matter. */
function needsObserving(shape: Shape): boolean {
  if (!shape || shape.some((d) => d === null)) return true;
  return shape.every((d) => !Number.isNaN(d)) && (shape as number[]).reduce((a, b) => a * b, 1) <= SMALL;
}

/** The first `count` samples of `batch`, its last one repeated when it has fewer. */
function firstSamples(batch: FloatTensor, count: number): FloatTensor {
  const size = batch.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(count * size);
  for (let i = 0; i < count; i++) {
    const from = Math.min(i, batch.dims[0] - 1) * size;
    data.set(batch.data.subarray(from, from + size), i * size);
  }
  return { data, dims: [count, ...batch.dims.slice(1)] };
}

function integerContents(t: TensorValue | undefined): number[] | undefined {
  if (!t || !(t.data instanceof BigInt64Array || t.data instanceof Int32Array) || t.data.length > SMALL) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

function sameContents(a: readonly number[], b: readonly number[] | undefined): boolean {
  return !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}
