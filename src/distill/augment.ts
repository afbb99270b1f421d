import { mulberry32 } from '../calib/random.js';
import { ftmError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import { newModel, type Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { Runner, type RunnerOptions } from '../runtime/session.js';

export interface AugmentOptions {
  /** Flip each sample left–right with probability 1/2 (default true). */
  flip?: boolean;
  /** Largest shift in pixels along each spatial axis (default 2; 0 for none). */
  shift?: number;
  /**
   * Mix each sample with a random partner of the same batch (mixup, default false): λ·a + (1 − λ)·b, λ uniform in
   * [0, 1]. The teacher labels the mixture, so no label is mixed: every step shows the student new inputs between the
   * few calibration images.
   */
  mix?: boolean;
}

/** What was drawn for one sample: mirrored or not, then moved by (dy, dx) pixels. */
export interface SampleDraw {
  flip: boolean;
  dy: number;
  dx: number;
  /** With mixing: the batch index of the partner, and the weight λ of this sample's own (flipped, shifted) image. */
  partner?: number;
  weight?: number;
}

/**
 * Seeded random horizontal flips and small shifts of NCHW float batches, run on onnxruntime. Sample n of the output is
 * out[c, y, x] = x_n[c, y + dy, f(x) + dx] with f(x) = W−1−x when flipped (else x), where positions outside the image
 * repeat its nearest edge pixel (pad-and-crop with edge padding: a shifted digit or garment keeps its background).
 * With mixing, sample n is then λ_n·out_n + (1 − λ_n)·out_partner(n). The same seed gives the same draws in the same order.
 */
export class Augmenter {
  private readonly random: () => number;

  private constructor(
    private readonly runner: Runner,
    readonly sampleShape: readonly number[],
    readonly flip: boolean,
    readonly shift: number,
    readonly mix: boolean,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  /** For samples of `sampleShape` ([C, H, W]). */
  static async create(sampleShape: readonly number[], options: AugmentOptions & RunnerOptions & { seed?: number } = {}): Promise<Augmenter> {
    if (sampleShape.length !== 3) throw ftmError('E_USAGE', `augmentation needs image samples [C, H, W], found a sample of shape [${sampleShape.join(', ')}]`);
    const shift = options.shift ?? 2;
    if (!(Number.isInteger(shift) && shift >= 0)) throw ftmError('E_USAGE', `the augmentation shift must be a non-negative integer, found ${shift}`);
    const mix = options.mix ?? false;
    const runner = await Runner.create(augmentGraph(shift, mix), options);
    return new Augmenter(runner, sampleShape, options.flip ?? true, shift, mix, options.seed ?? 0);
  }

  /** Draws for the next `count` samples (consumes the random stream as `apply` does). */
  draw(count: number): SampleDraw[] {
    const s = this.shift;
    return Array.from({ length: count }, () => {
      const flip = this.flip && this.random() < 0.5;
      const dy = s ? Math.floor(this.random() * (2 * s + 1)) - s : 0;
      const dx = s ? Math.floor(this.random() * (2 * s + 1)) - s : 0;
      if (!this.mix) return { flip, dy, dx };
      return { flip, dy, dx, partner: Math.floor(this.random() * count), weight: this.random() };
    });
  }

  /** A new batch: each of the `count` samples of `data` flipped and shifted by the next draws. */
  async apply(data: Float32Array, count: number): Promise<Float32Array> {
    return this.applyDraws(data, this.draw(count));
  }

  /** The batch transformed by given draws (one per sample). */
  async applyDraws(data: Float32Array, draws: readonly SampleDraw[]): Promise<Float32Array> {
    const [c, h, w] = this.sampleShape;
    const n = draws.length;
    if (data.length !== n * c * h * w) throw ftmError('E_USAGE', `expected ${n} samples of [${this.sampleShape.join(', ')}] (${n * c * h * w} values), found ${data.length} values`);
    const s = this.shift;
    // Indices into the edge-padded image (s pixels each side); GatherND reads row rows[n, y] and column cols[n, x].
    const rows = new Float32Array(n * h);
    const cols = new Float32Array(n * w);
    draws.forEach((d, k) => {
      for (let y = 0; y < h; y++) rows[k * h + y] = y + s + d.dy;
      for (let x = 0; x < w; x++) cols[k * w + x] = (d.flip ? w - 1 - x : x) + s + d.dx;
    });
    const feeds = { x: { data, dims: [n, c, h, w] }, rows: { data: rows, dims: [n, h, 1] }, cols: { data: cols, dims: [n, w, 1] } };
    const out = await this.runner.run(
      this.mix
        ? { ...feeds, partner: { data: Float32Array.from(draws, (d) => d.partner ?? 0), dims: [n] }, weight: { data: Float32Array.from(draws, (d) => d.weight ?? 1), dims: [n, 1, 1, 1] } }
        : feeds,
      ['y'],
    );
    return out.y.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

/**
 * x [N,C,H,W], rows [N,H,1], cols [N,W,1] (float indices into the padded image) → y [N,C,H,W]:
 * Pad(edge, s) → Transpose [N,H',C,W'] → GatherND rows (batch_dims 1) → Transpose [N,W',C,H] → GatherND cols →
 * Transpose back. Only copies: the output values are input values bit for bit. With mixing, also partner [N] (float
 * batch indices) and weight [N,1,1,1]: y = weight·moved + (1 − weight)·Gather(moved, partner).
 */
function augmentGraph(shift: number, mix: boolean): Model {
  const model = newModel(13);
  const g = model.graph;
  g.name = 'augment';
  const input = (name: string, shape: (number | string)[]): Value => {
    const v = g.define(name);
    v.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: shape.map((d) => (typeof d === 'number' ? { value: d } : { param: d })) };
    g.inputs.push(v);
    return v;
  };
  const x = input('x', ['N', 'C', 'H', 'W']);
  const rows = input('rows', ['N', 'H', 1]);
  const cols = input('cols', ['N', 'W', 1]);
  const op = (opType: string, inputs: Value[], attrs: Record<string, number | number[] | string> = {}): Value => g.addNode({ op: opType, inputs, attrs, name: opType.toLowerCase() }).outputs[0]!;
  const pads = g.addInitializer('pads', Tensor.int64([8], [0, 0, shift, shift, 0, 0, shift, shift]));
  const padded = shift ? op('Pad', [x, pads], { mode: 'edge' }) : x;
  const byRow = op('GatherND', [op('Transpose', [padded], { perm: [0, 2, 1, 3] }), op('Cast', [rows], { to: DataType.INT64 })], { batch_dims: 1 });
  const byCol = op('GatherND', [op('Transpose', [byRow], { perm: [0, 3, 2, 1] }), op('Cast', [cols], { to: DataType.INT64 })], { batch_dims: 1 });
  const moved = op('Transpose', [byCol], { perm: [0, 2, 3, 1] });
  let y = moved;
  if (mix) {
    const [partner, weight] = [input('partner', ['N']), input('weight', ['N', 1, 1, 1])];
    const other = op('Gather', [moved, op('Cast', [partner], { to: DataType.INT64 })], { axis: 0 });
    const one = g.addInitializer('one', Tensor.float32([], [1]));
    y = op('Add', [op('Mul', [moved, weight]), op('Mul', [other, op('Sub', [one, weight])])]);
  }
  g.rename(y, 'y');
  y.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { param: 'C' }, { param: 'H' }, { param: 'W' }] };
  g.outputs.push(y);
  if (!shift) g.removeInitializer(pads);
  return model;
}
