import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ftm, readFtmParams, setFtmParams } from '../rewrites/ftm.js';
import { fitFtmLayer } from '../rewrites/ftm-fit.js';
import type { FtmWeights } from '../rewrites/ftm-init.js';
import { ftmLayout, type FtmLayout } from '../rewrites/ftm-layout.js';
import { lowrank } from '../rewrites/lowrank.js';
import { prune } from '../rewrites/prune.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import type { CalibrationSet } from '../src/calib/types.js';
import { blockedDampedFactor, collectLayerStats, dampedFactor, DEFAULT_DAMPING, fitSequential, Gemms, ridgeFor, SAMPLE_RIDGE, solveDamped } from '../src/fit/index.js';
import { droppedShare, restrictChannels } from '../src/fit/restrict-channels.js';
import { outputError } from '../src/runtime/compare.js';
import { applyRules, loadModel, resolvePads, type ConvGeometry, type Model, type Params } from '../src/index.js';
import { profileModel } from '../src/profile/profile.js';
import { Runner } from '../src/runtime/session.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { measuredLayerError } from './helpers/layer-error.js';
import { memoryCalibration } from './helpers/memory-calib.js';
import { runOnce } from './helpers/ort.js';
import { relMaxError } from './helpers/reference.js';

const FIXTURE = 'fixtures/resnet20/';
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Share of samples whose largest logit is the label. */
async function top1(model: Model, data: CalibrationSet, labels: number[]): Promise<number> {
  const runner = await Runner.create(model);
  let correct = 0, seen = 0;
  for await (const b of data.batches(100)) {
    const logits = Object.values(await runner.run({ [data.inputName]: { data: b.data, dims: [b.count, ...data.sampleShape] } }))[0].data as Float32Array;
    const classes = logits.length / b.count;
    for (let i = 0; i < b.count; i++, seen++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      if (row.indexOf(Math.max(...row)) === labels[seen]) correct++;
    }
  }
  await runner.release();
  return correct / seen;
}

const geometry = (kernel: number[], o: Partial<ConvGeometry> = {}): ConvGeometry => ({
  kernel,
  strides: [1, 1],
  dilations: [1, 1],
  pads: [0, 0, 0, 0],
  autoPad: 'NOTSET',
  group: 1,
  ceilMode: false,
  ...o,
});

/** Yields one {x, y} pair per batch of `n` samples of x [N, ...] and y [N, ...]. */
async function* inBatches(x: { data: Float32Array; dims: number[] }, y: { data: Float32Array; dims: number[] }, n: number) {
  const count = x.dims[0];
  const xs = x.data.length / count, ys = y.data.length / count;
  for (let s = 0; s < count; s += n) {
    const k = Math.min(n, count - s);
    yield {
      x: { data: x.data.slice(s * xs, (s + k) * xs), dims: [k, ...x.dims.slice(1)] },
      y: { data: y.data.slice(s * ys, (s + k) * ys), dims: [k, ...y.dims.slice(1)] },
    };
  }
}

/** PatchStats by plain loops in float64: an explicit im2col of [x; 1] with zero padding, one position at a time. */
function referenceStats(x: Float32Array, xd: number[], y: Float32Array, yd: number[], geo: ConvGeometry) {
  const [n, cin, h, w] = xd;
  const [, cout, oh, ow] = yd;
  const [kh, kw] = geo.kernel;
  const k2 = kh * kw;
  const pads = resolvePads(geo, [h, w]);
  const size = (cin + 1) * k2 + 1;
  const xx = new Float64Array(size * size), xy = new Float64Array(size * cout), yy = new Float64Array(cout);
  const patch = new Float64Array(size);
  for (let s = 0; s < n; s++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        for (let c = 0; c <= cin; c++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * geo.strides[0] - pads[0] + ky * geo.dilations[0];
              const ix = ox * geo.strides[1] - pads[1] + kx * geo.dilations[1];
              const inside = iy >= 0 && ix >= 0 && iy < h && ix < w;
              patch[c * k2 + ky * kw + kx] = !inside ? 0 : c === cin ? 1 : x[((s * cin + c) * h + iy) * w + ix];
            }
        patch[size - 1] = 1;
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) xx[i * size + j] += patch[i] * patch[j];
          for (let c = 0; c < cout; c++) xy[i * cout + c] += patch[i] * y[((s * cout + c) * oh + oy) * ow + ox];
        }
        for (let c = 0; c < cout; c++) yy[c] += y[((s * cout + c) * oh + oy) * ow + ox] ** 2;
      }
  return { xx, xy, yy, count: n * oh * ow };
}

describe('damped Cholesky solve', () => {
  it('solves an SPD system, and gives finite minimum-energy answers for singular and zero ones', () => {
    const n = 6;
    const r = randomFloats(n * n, 5);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) m[i * n + j] += r[i * n + k] * r[j * n + k];
    const x = Float64Array.from(randomFloats(n, 6));
    const b = Float64Array.from({ length: n }, (_, i) => x.reduce((s, v, j) => s + m[i * n + j] * v, 0));
    expect(relMaxError(solveDamped(m, b, n, 0), x)).toBeLessThan(1e-9);
    expect(relMaxError(solveDamped(m, b, n, 1e-9), x)).toBeLessThan(1e-5);
    // rank 1: v vᵀ z = v → z ≈ v/‖v‖² (the component the data excites), nothing along unexcited directions
    const v = Float64Array.from([1, 2, 0, -1]);
    const singular = Float64Array.from({ length: 16 }, (_, k) => v[k >> 2] * v[k & 3]);
    const z = solveDamped(singular, v, 4);
    expect(relMaxError(z, v.map((e) => e / 6))).toBeLessThan(1e-4);
    expect(Array.from(solveDamped(new Float64Array(9), Float64Array.from([1, 2, 3]), 3))).toEqual([0, 0, 0]);
  });

  it('float64 products give op(A)·op(B) and C − op(A)·op(B), in TypeScript and on onnxruntime alike', async () => {
    const gemms = new Gemms(2);
    try {
      for (const [rows, inner, cols] of [[7, 5, 3], [300, 260, 240]]) {
        const a = Float64Array.from(randomFloats(rows * inner, 9)), b = Float64Array.from(randomFloats(inner * cols, 10)), c = Float64Array.from(randomFloats(rows * cols, 11));
        const expected = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < inner; k++) expected[i * cols + j] += a[i * inner + k] * b[k * cols + j];
        const aT = Float64Array.from({ length: a.length }, (_, q) => a[(q % rows) * inner + Math.floor(q / rows)]);
        const bT = Float64Array.from({ length: b.length }, (_, q) => b[(q % inner) * cols + Math.floor(q / inner)]);
        const dims = { rows, inner, cols };
        expect(relMaxError(await gemms.run({ a, b, ...dims }), expected)).toBeLessThan(1e-12);
        expect(relMaxError(await gemms.run({ a: aT, b: bT, ...dims, transA: true, transB: true }), expected)).toBeLessThan(1e-12);
        expect(relMaxError(await gemms.run({ a, b: bT, ...dims, transB: true, minus: c }), c.map((v, q) => v - expected[q]))).toBeLessThan(1e-12);
      }
    } finally {
      await gemms.release();
    }
  });

  it('blocked on onnxruntime, gives the one-piece solve for large systems: full rank, rank-deficient, indefinite, zero', async () => {
    const n = 1100, rank = 800, cols = 40;
    const r = randomFloats(n * rank, 7);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let t = 0;
        for (let k = 0; k < rank; k++) t += r[i * rank + k] * r[j * rank + k];
        m[i * n + j] = m[j * n + i] = t;
      }
    const b = Float64Array.from(randomFloats(n * cols, 8));
    const diagonalPlus = (shift: number) => Float64Array.from(m, (v, k) => (k % (n + 1) === 0 ? v + shift : v));
    const gemms = new Gemms(2);
    try {
      for (const [system, damping] of [[m, 1e-6], [diagonalPlus(100), 0], [diagonalPlus(-50), 1e-6]] as const) {
        const blocked = (await blockedDampedFactor(system, n, gemms, damping))!;
        expect(relMaxError(await blocked(b), dampedFactor(system, n, damping)!(b))).toBeLessThan(1e-6);
      }
      expect(await blockedDampedFactor(new Float64Array(n * n), n, gemms)).toBeUndefined();
    } finally {
      await gemms.release();
    }
  });

  it('the ridge grows with unknowns per position, and is the caller\'s damping where positions are plentiful', () => {
    expect(ridgeFor(65, 1e6)).toBe(DEFAULT_DAMPING);
    expect(ridgeFor(1024, 96, 1e-6)).toBe(1e-6);
    expect(ridgeFor(1024, 384)).toBeCloseTo((SAMPLE_RIDGE * 1024) / 384, 12);
    expect(ridgeFor(1024, 96)).toBeGreaterThan(ridgeFor(1024, 384));
    expect(ridgeFor(10, 0)).toBe(DEFAULT_DAMPING);
  });
});

describe('patch statistics on onnxruntime', () => {
  const cases = [
    { name: '3×3, strides [2,1], asymmetric pads, dilation [1,2]', cin: 3, cout: 4, h: 7, w: 8, geo: geometry([3, 3], { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] }) },
    { name: '1×1 stride 2 (a shortcut)', cin: 5, cout: 3, h: 6, w: 6, geo: geometry([1, 1], { strides: [2, 2] }) },
    { name: '2×2 auto_pad SAME_UPPER', cin: 2, cout: 2, h: 5, w: 4, geo: geometry([2, 2], { pads: undefined, autoPad: 'SAME_UPPER' }) },
  ];
  it.each(cases)('$name: equal an explicit float64 im2col (relative 1e-6), merged over 3 batches', async ({ cin, cout, h, w, geo }) => {
    const n = 5;
    const pads = resolvePads(geo, [h, w]);
    const oh = Math.floor((h + pads[0] + pads[2] - geo.dilations[0] * (geo.kernel[0] - 1) - 1) / geo.strides[0]) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - geo.dilations[1] * (geo.kernel[1] - 1) - 1) / geo.strides[1]) + 1;
    // inputs with a mean far from zero, as post-ReLU activations have: the centered GEMMs must keep precision
    const x = { data: randomFloats(n * cin * h * w, 1).map((v) => 3 + v), dims: [n, cin, h, w] };
    const y = { data: randomFloats(n * cout * oh * ow, 2).map((v) => 2 * v - 1), dims: [n, cout, oh, ow] };
    const got = await collectLayerStats(inBatches(x, y, 2), { cin, cout, geometry: geo }, { threads: 1 });
    const want = referenceStats(x.data, x.dims, y.data, y.dims, geo);
    expect(got.size).toBe((cin + 1) * geo.kernel[0] * geo.kernel[1] + 1);
    expect(got.count).toBe(want.count);
    expect(relMaxError(got.xx, want.xx)).toBeLessThan(1e-6);
    expect(relMaxError(got.xy, want.xy)).toBeLessThan(1e-6);
    expect(relMaxError(got.yy, want.yy)).toBeLessThan(1e-6);
  });

  it('restricted to some input channels, equal the statistics of those channels alone: one pass serves every kept set', async () => {
    const [n, cin, cout, size] = [4, 5, 3, 6];
    const geo = geometry([3, 3], { pads: [1, 1, 1, 1] });
    const x = { data: randomFloats(n * cin * size * size, 31).map((v) => 2 + v), dims: [n, cin, size, size] };
    const y = { data: randomFloats(n * cout * size * size, 32), dims: [n, cout, size, size] };
    const all = await collectLayerStats(inBatches(x, y, 2), { cin, cout, geometry: geo }, { threads: 1 });
    const kept = [0, 2, 3];
    const plane = size * size;
    const sliced = { data: new Float32Array(n * kept.length * plane), dims: [n, kept.length, size, size] };
    for (let s = 0; s < n; s++) kept.forEach((c, j) => sliced.data.set(x.data.subarray((s * cin + c) * plane, (s * cin + c + 1) * plane), (s * kept.length + j) * plane));
    const alone = await collectLayerStats(inBatches(sliced, y, 2), { cin: kept.length, cout, geometry: geo }, { threads: 1 });
    const got = restrictChannels(all, kept);
    expect([got.cin, got.size, got.count]).toEqual([alone.cin, alone.size, alone.count]);
    expect(relMaxError(got.xx, alone.xx)).toBeLessThan(1e-6);
    expect(relMaxError(got.xy, alone.xy)).toBeLessThan(1e-6);
    expect(Array.from(got.yy)).toEqual(Array.from(alone.yy));
    expect(() => restrictChannels(all, [2, 1])).toThrow(/ascending input channels/);
    expect(() => restrictChannels(all, [5])).toThrow(/ascending input channels/);
  });

  it('droppedShare is the share of the input variance on the channels left out', async () => {
    const [n, cin, size] = [3, 3, 4];
    const plane = size * size;
    const x = { data: randomFloats(n * cin * plane, 33), dims: [n, cin, size, size] };
    for (let s = 0; s < n; s++) for (let p = 0; p < plane; p++) x.data[(s * cin + 1) * plane + p] *= 3;
    const y = { data: randomFloats(n * plane, 34), dims: [n, 1, size, size] };
    const stats = await collectLayerStats(inBatches(x, y, 3), { cin, cout: 1, geometry: geometry([1, 1]) }, { threads: 1 });
    const variance = (c: number) => {
      const v = Array.from({ length: n * plane }, (_, i) => x.data[(Math.floor(i / plane) * cin + c) * plane + (i % plane)]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return v.reduce((a, b) => a + (b - mean) ** 2, 0);
    };
    const all = variance(0) + variance(1) + variance(2);
    expect(droppedShare(stats, [0, 2])).toBeCloseTo(variance(1) / all, 5);
    expect(droppedShare(stats, [1])).toBeCloseTo((variance(0) + variance(2)) / all, 5);
    expect(droppedShare(stats, [0, 1, 2])).toBe(0);
  });

  it('refuses a target whose shape the layer cannot produce: a fit plan that does not describe its layer is a broken rule', async () => {
    const x = { data: new Float32Array(2 * 2 * 4 * 4), dims: [2, 2, 4, 4] };
    const y = { data: new Float32Array(2 * 3 * 4 * 4), dims: [2, 3, 4, 4] };
    await expect(collectLayerStats(inBatches(x, y, 2), { cin: 2, cout: 3, geometry: geometry([3, 3]) })).rejects.toMatchObject({ code: 'E_RULE' });
  });
});

/** x [N, cin, size, size] (a graph input) → Conv(w, b) → y. */
function singleConv(cin: number, cout: number, k: number, attrs: Record<string, number[]>, size: number): Model {
  const { model, g, x } = modelWithInput(['N', cin, size, size]);
  const conv = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [cout, cin, k, k], 11), randomWeight(g, 'b', [cout], 12)], name: 'conv', attrs });
  g.outputs.push(conv.outputs[0]!);
  return model;
}

const params = (r: ReturnType<typeof applyRules>): Params => r.records.find((x) => x.status === 'fired')!.params!;

describe('FTM module weights in the rewrite params', () => {
  it('readFtmParams inverts setFtmParams in both forms (S=3, short last group)', () => {
    const model = singleConv(3, 8, 3, { pads: [1, 1, 1, 1] }, 5);
    const layout = ftmLayout(8, 3) as FtmLayout;
    const w: FtmWeights = {
      pw: randomFloats(3 * 3, 1),
      pwBias: randomFloats(3, 2),
      dw: randomFloats(3 * 9, 3),
      gates: [new Float32Array(1), new Float32Array(1)],
      scale: randomFloats(8, 4),
      shift: randomFloats(8, 5),
    };
    for (const form of ['folded', 'module']) {
      const p = params(applyRules(model, [ftm], { options: { ftm: { s: 3, form, includeFirst: true } } }));
      setFtmParams(p, w, layout);
      const back = readFtmParams(p, layout, 3, 9);
      for (const key of ['pw', 'pwBias', 'dw', 'scale', 'shift'] as const) expect(Array.from(back[key])).toEqual(Array.from(w[key]));
      expect(back.gates.map((g) => Array.from(g))).toEqual([[0], [0]]);
    }
  });
});

describe('fitting one FTM layer', () => {
  it('recovers an exactly FTM-representable layer (rank-1 primes, scaled ghosts, pw bias through stride-2 padding) from a perturbed init', async () => {
    const [cin, cout, k, size, n] = [4, 6, 3, 9, 16];
    const attrs = { strides: [2, 2], pads: [1, 1, 1, 1] };
    const model = singleConv(cin, cout, k, attrs, size);
    const opts = (form: string) => ({ options: { ftm: { form, includeFirst: true } } });
    const truth = applyRules(model, [ftm], opts('module'));
    const layout = ftmLayout(cout, 2) as FtmLayout;
    const exact: FtmWeights = {
      pw: randomFloats(3 * cin, 21),
      pwBias: randomFloats(3, 22),
      dw: randomFloats(3 * 9, 23),
      gates: [new Float32Array(1)],
      scale: randomFloats(cout, 24).map((v) => Math.sign(v) * (0.5 + Math.abs(v))),
      shift: randomFloats(cout, 25),
    };
    setFtmParams(params(truth), exact, layout);
    const x = { data: randomFloats(n * cin * size * size, 26), dims: [n, cin, size, size] };
    const yName = truth.model.graph.outputs[0].name;
    const y = { data: (await runOnce(truth.model, { x }))[yName], dims: [n, cout, 5, 5] };
    const stats = await collectLayerStats(inBatches(x, y, 8), { cin, cout, geometry: geometry([k, k], attrs) });

    const noise = (a: Float32Array, seed: number, amount: number) => a.map((v, i) => v + amount * randomFloats(a.length, seed)[i]);
    const init = { ...exact, pw: noise(exact.pw, 31, 0.3), pwBias: noise(exact.pwBias, 32, 0.3), dw: noise(exact.dw, 33, 0.3), scale: noise(exact.scale, 34, 0.3), shift: noise(exact.shift, 35, 0.3) };
    const fit = await fitFtmLayer(stats, init, layout, 9, cin, { iterations: 60 });
    expect(fit.errorBefore).toBeGreaterThan(0.05);
    expect(fit.errorAfter).toBeLessThan(1e-6);
    for (let i = 1; i < fit.history.length; i++) expect(fit.history[i]).toBeLessThanOrEqual(fit.history[i - 1] * (1 + 1e-9));

    // the fitted weights, written into the folded form, reproduce the layer on onnxruntime
    const student = applyRules(model, [ftm], opts('folded'));
    setFtmParams(params(student), fit.weights, layout);
    const got = (await runOnce(student.model, { x }))[student.model.graph.outputs[0].name];
    expect(relMaxError(got, y.data)).toBeLessThan(1e-3);
  });
});

describe('fitting the fixture ResNet-20', async () => {
  const teacher = loadModel(`${FIXTURE}model.onnx`);
  const preprocess = readPreprocessFile(`${FIXTURE}preprocess.json`);
  const calib = await loadCalibration(`${FIXTURE}calib`, teacher, { ...preprocess, limit: 64 });
  const test = await loadCalibration(`${FIXTURE}test`, teacher, { ...preprocess, limit: 200, onWarning: () => undefined });

  /** A layer's relative error measured on onnxruntime: the teacher's value `target` against the student's value in the
   * same slot of the same (named) node that reads it first in the teacher. */
  async function measuredError(student: Model, target: string, data: CalibrationSet): Promise<number> {
    const use = teacher.graph.lookup(target)!.uses[0];
    const reader = student.graph.nodes.find((n) => n.name === use.node.name)!;
    return measuredLayerError(teacher, target, student, reader.inputs[use.index]!.name, data);
  }

  it('a real layer: the fitted error is far below the data-free one, and equals the error measured on onnxruntime', async () => {
    const layer = '/layer2/layer2.1/conv1/Conv';
    const profile = await profileModel(teacher, calib, ftm, { layers: [layer] });
    const stats = { [layer]: { groups: profile.layers[0].groups.map((g) => [g.prime, ...g.ghosts.map((x) => x.channel)]) } };
    const student = applyRules(teacher, [ftm], { layers: [layer], stats });
    const report = await fitSequential(teacher, student.model, student.records, calib);
    const { errorBefore, errorAfter } = report.layers[0];
    console.log(`${layer}, profiler pairing, 64 images: relative error data-free ${errorBefore.toFixed(4)} → fitted ${errorAfter.toFixed(4)}`);
    expect(errorAfter).toBeLessThan(0.5 * errorBefore);
    const measured = await measuredError(student.model, report.layers[0].target, calib);
    expect(Math.abs(measured - errorAfter)).toBeLessThan(1e-3 * errorAfter);
  });

  it('two layers: sequential fitting beats independent fitting at the model output', async () => {
    const layers = ['/layer1/layer1.0/conv1/Conv', '/layer1/layer1.0/conv2/Conv'];
    const run = async (mode: 'sequential' | 'independent', memoryBudget?: number) => {
      const student = applyRules(teacher, [ftm], { layers });
      const report = await fitSequential(teacher, student.model, student.records, calib, { mode, memoryBudget });
      return { report, error: await outputError(teacher, student.model, test) };
    };
    const seq = await run('sequential');
    const ind = await run('independent');
    console.log(`layer1.0 conv1+conv2, logit error on 200 test images: sequential ${seq.error.toFixed(4)}, independent ${ind.error.toFixed(4)}`);
    expect(seq.report.passes).toBe(2); // segment by segment: one pass of each model in all
    expect(ind.report.passes).toBe(2);
    // without the memory for segments, each layer runs truncated passes from the input: same fits, more passes
    const truncated = await run('sequential', 0);
    expect(truncated.report.passes).toBe(4);
    truncated.report.layers.forEach((l, i) => expect(l.errorAfter).toBeCloseTo(seq.report.layers[i].errorAfter, 5));
    // the first layer sees the same input either way; the second sees the student's own input only in sequential mode
    expect(seq.report.layers[0].errorAfter).toBeCloseTo(ind.report.layers[0].errorAfter, 6);
    expect(seq.error).toBeLessThan(ind.error);
  });

  it('the whole model: all 20 qualifying convs fitted in sequence on 64 images keep most of the accuracy', async () => {
    const profile = await profileModel(teacher, calib, ftm);
    const stats = Object.fromEntries(profile.layers.filter((l) => l.qualifies).map((l) => [l.layer, { groups: l.groups.map((g) => [g.prime, ...g.ghosts.map((x) => x.channel)]) }]));
    const student = applyRules(teacher, [ftm], { stats });
    const report = await fitSequential(teacher, student.model, student.records, calib);
    expect(report.layers.length).toBe(20);
    for (const l of report.layers) expect(l.errorAfter).toBeLessThan(l.errorBefore);
    const first200 = (await loadCalibration(`${FIXTURE}test`, teacher, { ...preprocess, onWarning: () => undefined })).subset(Array.from({ length: 200 }, (_, i) => i));
    const labels = (JSON.parse(readFileSync(`${FIXTURE}test/labels.json`, 'utf8')) as number[]).slice(0, 200);
    const [fitted, dataFree, original] = [await top1(student.model, first200, labels), await top1(applyRules(teacher, [ftm], { stats }).model, first200, labels), await top1(teacher, first200, labels)];
    console.log(`all 20 layers, 64 images, ${report.seconds.toFixed(1)} s: top-1 on 200 test images ${pct(original)} teacher, ${pct(dataFree)} data-free, ${pct(fitted)} fitted`);
    expect(fitted).toBeGreaterThan(0.7);
    expect(dataFree).toBeLessThan(0.3);
  });

  it('lowrank on a real layer: the fitted factorization beats the data-free SVD by far, and both errors are as measured', async () => {
    const layer = '/layer3/layer3.0/conv2/Conv';
    const rows: string[] = [];
    for (const rank of [8, 16, 32]) {
      const student = applyRules(teacher, [lowrank], { layers: [layer], options: { lowrank: { rank } } });
      const dataFree = await measuredError(student.model, '/layer3/layer3.0/conv2/Conv_output_0', calib);
      const report = await fitSequential(teacher, student.model, student.records, calib);
      const { errorBefore, errorAfter, target } = report.layers[0];
      expect(Math.abs(dataFree - errorBefore)).toBeLessThan(1e-3 * errorBefore);
      rows.push(`rank ${rank}: data-free (SVD) ${errorBefore.toFixed(4)} → fitted ${errorAfter.toFixed(4)}`);
      expect(target).toBe('/layer3/layer3.0/conv2/Conv_output_0');
      expect(errorAfter).toBeLessThan(0.75 * errorBefore);
      const measured = await measuredError(student.model, target, calib);
      expect(Math.abs(measured - errorAfter)).toBeLessThan(1e-3 * errorAfter);
    }
    console.log(`lowrank ${layer}, relative error on 64 images:\n${rows.join('\n')}`);
  });

  it('prune on a real block: conv1 pruned, conv2 refitted on the kept channels, far below the unfitted error, as measured', async () => {
    const layer = '/layer2/layer2.1/conv1/Conv';
    const rows: string[] = [];
    for (const ratio of [0.75, 0.5]) {
      const student = applyRules(teacher, [prune], { layers: [layer], options: { prune: { ratio } } });
      const report = await fitSequential(teacher, student.model, student.records, calib);
      expect(report.layers).toHaveLength(1);
      const { errorBefore, errorAfter, target } = report.layers[0];
      rows.push(`ratio ${ratio}: unfitted ${errorBefore.toFixed(4)} → refitted ${errorAfter.toFixed(4)}`);
      expect(target).toBe('/layer2/layer2.1/conv2/Conv_output_0');
      expect(errorAfter).toBeLessThan(0.5 * errorBefore);
      const measured = await measuredError(student.model, target, calib);
      expect(Math.abs(measured - errorAfter)).toBeLessThan(1e-3 * errorAfter);
    }
    console.log(`prune ${layer} → conv2 refit, relative error of conv2 on 64 images:\n${rows.join('\n')}`);
  });

  it('refuses records that do not belong to the models, and independent fits of inputs the teacher lacks', async () => {
    const student = applyRules(teacher, [ftm], { layers: ['/layer1/layer1.0/conv1/Conv'] });
    const other = applyRules(teacher, [ftm], { layers: ['/layer1/layer1.0/conv1/Conv'] });
    await expect(fitSequential(teacher, other.model, student.records, calib)).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(fitSequential(teacher, student.model, [], calib)).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(fitSequential(student.model, student.model, student.records, calib)).rejects.toMatchObject({ code: 'E_USAGE' });
    const pruned = applyRules(teacher, [prune], { layers: ['/layer1/layer1.0/conv1/Conv'] });
    await expect(fitSequential(teacher, pruned.model, pruned.records, calib, { mode: 'independent' })).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('independent fitting reads the layer\'s input'),
    });
  });
});

describe('fit plans across rewrites', () => {
  it('a plan whose input a later rewrite replaces follows the replacement, and layers fit in dependency order', async () => {
    // x → conv a (4→6, 3×3) → conv b (6→8, 3×3) → y: ftm rewrites b (a reads the graph input), then lowrank rewrites a,
    // replacing the value b's FTM reads.
    const { model, g, x } = modelWithInput(['N', 4, 8, 8]);
    const pads = { pads: [1, 1, 1, 1] };
    const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'wa', [6, 4, 3, 3], 1), randomWeight(g, 'ba', [6], 2)], name: 'a', attrs: pads });
    const b = g.addNode({ op: 'Conv', inputs: [a.outputs[0], randomWeight(g, 'wb', [8, 6, 3, 3], 3), randomWeight(g, 'bb', [8], 4)], name: 'b', attrs: pads });
    g.outputs.push(b.outputs[0]!);
    const student = applyRules(model, [ftm, lowrank], { layers: ['a', 'b'], options: { lowrank: { rank: 2, includeFirst: true } } });
    expect(student.records.map((r) => `${r.rule} ${r.node} ${r.status}`)).toEqual(['ftm a declined', 'ftm b fired', 'lowrank a fired']);
    const [ftmPlan] = student.records[1].fit!;
    const pw = student.model.graph.nodes.find((n) => n.name === 'b/ftm/pw')!;
    expect(ftmPlan.input).toBe(pw.inputs[0]);
    expect(ftmPlan.input.producer?.name).toBe('a/lowrank/pw');
    const calib = memoryCalibration('x', [4, 8, 8], randomFloats(32 * 4 * 64, 5));
    const report = await fitSequential(model, student.model, student.records, calib, { threads: 1 });
    expect(report.layers.map((l) => `${l.rule} ${l.layer} → ${l.target}`)).toEqual(['lowrank a → a_out0', 'ftm b → b_out0']);
    for (const l of report.layers) expect(l.errorAfter).toBeLessThan(l.errorBefore);
  });
});
