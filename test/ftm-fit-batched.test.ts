import { describe, expect, it } from 'vitest';
import { ftm, readFtmParams } from '../rewrites/ftm.js';
import { fitFtmLayer } from '../rewrites/ftm-fit.js';
import { ftmLayout, type FtmLayout } from '../rewrites/ftm-layout.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import { collectLayerStats } from '../src/fit/patch-stats.js';
import { convGeometry, loadModel, type Model, type PatchStats } from '../src/index.js';
import { captureBatches } from '../src/runtime/capture.js';
import { applyRules } from '../src/rewrite/index.js';
import { fitFtmLayerReference } from './helpers/ftm-fit-reference.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { relMaxError } from './helpers/reference.js';

const FIXTURE = 'fixtures/resnet20/';

/** The statistics of the conv `layer` of `model` (its input against its own output) and the FTM data-free start. */
async function layerCase(model: Model, layer: string, stream: ReturnType<typeof captureBatches<'x' | 'y'>>, s = 2) {
  const conv = model.graph.nodes.find((n) => n.name === layer)!;
  const [cout, cin, kh, kw] = conv.inputs[1]!.initializer!.dims;
  const stats = await collectLayerStats(
    (async function* () {
      for await (const b of stream) yield { x: b.x, y: b.y };
    })(),
    { cin, cout, geometry: convGeometry(conv, [cout, cin, kh, kw]) },
  );
  // The gathered form numbers its affine by original channel: the layout read back must say so (short groups make the
  // two numberings differ in size).
  const rewritten = applyRules(model, [ftm], { layers: [layer], options: { ftm: { s, includeFirst: true, form: 'gathered' } } });
  const record = rewritten.records.find((r) => r.status === 'fired')!;
  const layout = ftmLayout(cout, s, undefined, 'channels') as FtmLayout;
  return { stats, init: readFtmParams(record.params!, layout, cin, kh * kw), layout, k2: kh * kw, cin };
}

/** Both solvers from the same start: the same errors every round and the same weights, to float64 rounding of a
 * converged conjugate-gradient solve amplified over the rounds. */
async function compare(c: { stats: PatchStats; init: ReturnType<typeof readFtmParams>; layout: FtmLayout; k2: number; cin: number }, label: string) {
  const t0 = performance.now();
  const reference = fitFtmLayerReference(c.stats, c.init, c.layout, c.k2, c.cin);
  const t1 = performance.now();
  const batched = await fitFtmLayer(c.stats, c.init, c.layout, c.k2, c.cin);
  const t2 = performance.now();
  console.log(`${label}: error ${reference.errorBefore.toFixed(4)} → reference ${reference.errorAfter.toExponential(6)} (${(t1 - t0).toFixed(0)} ms), batched ${batched.errorAfter.toExponential(6)} (${(t2 - t1).toFixed(0)} ms)`);
  expect(batched.history).toHaveLength(reference.history.length);
  batched.history.forEach((e, i) => expect(Math.abs(e - reference.history[i])).toBeLessThan(1e-7 * reference.history[0]));
  for (const key of ['pw', 'pwBias', 'dw', 'scale', 'shift'] as const) expect(relMaxError(batched.weights[key], reference.weights[key])).toBeLessThan(1e-4);
  for (let i = 1; i < batched.history.length; i++) expect(batched.history[i]).toBeLessThanOrEqual(batched.history[i - 1] * (1 + 1e-9));
}

describe('batched FTM fit against the per-group float64 reference', async () => {
  const teacher = loadModel(`${FIXTURE}model.onnx`);
  const calib = await loadCalibration(`${FIXTURE}calib`, teacher, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 32 });

  for (const layer of ['/layer1/layer1.0/conv1/Conv', '/layer3/layer3.1/conv2/Conv']) {
    it(`the fixture's ${layer} (3×3, from the data-free start): same errors and weights`, async () => {
      const conv = teacher.graph.nodes.find((n) => n.name === layer)!;
      const stream = captureBatches(calib, { x: { model: teacher, value: conv.inputs[0]!.name }, y: { model: teacher, value: conv.outputs[0]!.name } }, { batchSize: 16 });
      await compare(await layerCase(teacher, layer, stream), layer);
    });
  }

  it('conjugate gradients on a 3×3 layer (capped steps per round): within 1% of the exact solve, never rising', async () => {
    const layer = '/layer3/layer3.1/conv2/Conv';
    const conv = teacher.graph.nodes.find((n) => n.name === layer)!;
    const stream = captureBatches(calib, { x: { model: teacher, value: conv.inputs[0]!.name }, y: { model: teacher, value: conv.outputs[0]!.name } }, { batchSize: 16 });
    const c = await layerCase(teacher, layer, stream);
    const exact = await fitFtmLayer(c.stats, c.init, c.layout, c.k2, c.cin, { pointwise: 'direct' });
    const cg = await fitFtmLayer(c.stats, c.init, c.layout, c.k2, c.cin, { pointwise: 'cg' });
    console.log(`${layer}: exact P̃ steps ${exact.errorAfter.toFixed(5)}, conjugate gradients ${cg.errorAfter.toFixed(5)}`);
    expect(cg.errorAfter).toBeLessThan(exact.errorAfter * 1.01);
    expect(cg.errorAfter).toBeLessThan(0.6 * cg.errorBefore);
    for (let i = 1; i < cg.history.length; i++) expect(cg.history[i]).toBeLessThanOrEqual(cg.history[i - 1] * (1 + 1e-9));
  });

  it('a 1×1 conv with S = 3 (one shared preconditioner, exact in one step): same errors and weights', async () => {
    const [cin, cout, size, n] = [24, 20, 6, 12];
    const { model, g, x } = modelWithInput(['N', cin, size, size]);
    const conv = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [cout, cin, 1, 1], 41), randomWeight(g, 'b', [cout], 42)], name: 'conv', attrs: {} });
    g.outputs.push(conv.outputs[0]!);
    // correlated input channels, as real activations are
    const base = randomFloats(n * 4 * size * size, 43);
    const noise = randomFloats(n * cin * size * size, 44);
    const data = Float32Array.from({ length: n * cin * size * size }, (_, e) => {
      const [s, c, pos] = [Math.floor(e / (cin * size * size)), Math.floor(e / (size * size)) % cin, e % (size * size)];
      return base[(s * 4 + (c % 4)) * size * size + pos] * (1 + c / cin) + 0.3 * noise[e];
    });
    const calibration = { inputName: g.inputs[0].name, count: n, sampleShape: [cin, size, size] };
    const stream = (async function* () {
      const { runOnce } = await import('./helpers/ort.js');
      const y = (await runOnce(model, { [calibration.inputName]: { data, dims: [n, cin, size, size] } }))[conv.outputs[0]!.name];
      yield { x: { data, dims: [n, cin, size, size] }, y: { data: y, dims: [n, cout, size, size] } };
    })();
    await compare(await layerCase(model, 'conv', stream as never, 3), '1×1 conv, S = 3');
  });
});
