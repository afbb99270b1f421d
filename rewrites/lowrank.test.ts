import { fileURLToPath } from 'node:url';
import { relMaxError } from '../test/helpers/reference.js';
import { describe, expect, it } from 'vitest';
import { applyRules, loadModel, RuleTester, Tensor, truncatedSvd, type ApplyResult, type AttrInit, type Graph, type Model, type RewriteRecord } from '../src/index.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import { collectLayerStats, DEFAULT_DAMPING, fitSequential } from '../src/fit/index.js';
import { captureBatches } from '../src/runtime/capture.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { expectCode } from '../test/helpers/errors.js';
import { measuredLayerError } from '../test/helpers/layer-error.js';
import { memoryCalibration } from '../test/helpers/memory-calib.js';
import { runOnce } from '../test/helpers/ort.js';
import { fitLowrank } from './lowrank-fit.js';
import { kernelSvd } from './lowrank-svd.js';
import { chooseRank, lowrank } from './lowrank.js';

RuleTester.describe = describe;
RuleTester.it = it;

/** x [2,cin,h,w] → Conv(cin→cout, k×k, attrs) → y, the weight named "w". */
function convModel(cin: number, cout: number, k: number, attrs: Record<string, AttrInit> = { pads: [1, 1, 1, 1] }, hw = 9) {
  const { model, g, x } = modelWithInput(['N', cin, hw, hw]);
  const w = randomWeight(g, 'w', [cout, cin, k, k], 1);
  const b = randomWeight(g, 'b', [cout], 2);
  const conv = g.addNode({ op: 'Conv', inputs: [x, w, b], name: 'conv', attrs });
  g.outputs.push(conv.outputs[0]!);
  return { model, g, x, w, conv, input: { data: randomFloats(2 * cin * hw * hw, 3), dims: [2, cin, hw, hw] } };
}

async function run(model: Model, input: { data: Float32Array; dims: number[] }): Promise<Float32Array> {
  return (await runOnce(model, { [model.graph.inputs[0].name]: input }))[model.graph.outputs[0].name];
}

/** ‖a − b‖₂ / ‖b‖₂. */
function rmsError(a: Float32Array, b: Float32Array): number {
  let err = 0, norm = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(err / norm);
}


const one = (records: RewriteRecord[]) => {
  expect(records).toHaveLength(1);
  return records[0];
};


const first = { includeFirst: true };

/** x → <one conv named "conv" or "grouped"/"dw", built by `conv`> → y. */
function single(cin: number, conv: (g: Graph, x: ReturnType<typeof modelWithInput>['x']) => ReturnType<Graph['addNode']>): Model {
  const { model, g, x } = modelWithInput(['N', cin, 9, 9]);
  g.outputs.push(conv(g, x).outputs[0]!);
  return model;
}

const weightInput = () =>
  single(4, (g, x) => {
    const w = g.define('w');
    w.type = { kind: 'tensor', elemType: 1, shape: [{ value: 6 }, { value: 4 }, { value: 3 }, { value: 3 }] };
    g.inputs.push(w);
    return g.addNode({ op: 'Conv', inputs: [x, w], name: 'conv' });
  });

const overridable = () => {
  const { model, g, w } = convModel(4, 6, 3);
  g.inputs.push(w);
  return model;
};

const computedWeight = () =>
  single(4, (g, x) => {
    const scaled = g.addNode({ op: 'Mul', inputs: [randomWeight(g, 'w0', [6, 4, 3, 3], 1), g.addInitializer('two', Tensor.float32([1], [2]))], name: 'scale' });
    return g.addNode({ op: 'Conv', inputs: [x, scaled.outputs[0]], name: 'conv' });
  });

/** x → conv a → conv b, both reading the weight "w". */
function sharedWeight(): Model {
  const { model, g, x } = modelWithInput(['N', 4, 9, 9]);
  const w = randomWeight(g, 'w', [4, 4, 3, 3], 1);
  const a = g.addNode({ op: 'Conv', inputs: [x, w], name: 'a', attrs: { pads: [1, 1, 1, 1] } });
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [a.outputs[0], w], name: 'b', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!);
  return model;
}

/** The factors keep the conv's geometry: strides and dilations on the k×k factor, a plain 1×1 after it. */
const keepsGeometry = (attrs: Record<string, AttrInit>) => (r: ApplyResult) => {
  const [k, pw] = r.model.graph.nodes;
  expect(k.getInts('strides')).toEqual(attrs.strides ?? [1, 1]);
  expect(k.getInts('dilations')).toEqual(attrs.dilations ?? [1, 1]);
  expect(pw.getInts('kernel_shape')).toBeUndefined();
  expect(pw.inputs[1]!.initializer!.dims).toEqual([6, 6, 1, 1]);
};

const geometries: [string, Record<string, AttrInit>, number][] = [
  ['stride 2, asymmetric pads, dilation 2', { strides: [2, 2], pads: [1, 0, 2, 1], dilations: [2, 2] }, 11],
  ['auto_pad SAME_UPPER, stride 2, odd size', { auto_pad: 'SAME_UPPER', strides: [2, 2] }, 9],
  ['auto_pad VALID, 5×5', { auto_pad: 'VALID' }, 9],
];

new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) }).run(lowrank, {
  fires: [
    {
      name: 'at full rank equals the original conv on onnxruntime',
      model: convModel(6, 8, 3).model,
      options: { ...first, rank: 8 },
      at: ['conv'],
      equivalent: { tolerance: 1e-4 },
      check: ({ records, paramsBefore, paramsAfter }) => {
        expect(records[0].params!.get('k.weight')!.dims).toEqual([8, 6, 3, 3]);
        expect(records[0].params!.get('pw.weight')!.dims).toEqual([8, 8, 1, 1]);
        // full rank costs the extra 1×1 conv: 8·54 + 8·8 + 8 instead of 8·54 + 8
        expect(paramsAfter - paramsBefore).toBe(8 * 8);
      },
    },
    ...geometries.map(([what, attrs, hw]) => ({
      name: `keeps the geometry: ${what}`,
      model: convModel(4, 6, attrs.auto_pad === 'VALID' ? 5 : 3, attrs, hw).model,
      options: { ...first, rank: 6 },
      at: ['conv'],
      equivalent: { tolerance: 1e-4 },
      check: keepsGeometry(attrs),
    })),
    { name: 'prints the expected graph (golden)', model: convModel(6, 8, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }).model, options: first, at: ['conv'], golden: 'lowrank-basic.txt' },
  ],
  declines: [
    { name: 'when the chosen rank would not reduce parameters', model: convModel(1, 2, 1, {}).model, options: first, reason: 'rank 1 would not reduce parameters: r·(C_in·k² + C_out) = 3 ≥ C_out·C_in·k² = 2' },
    { name: 'a rank above the full rank', model: convModel(6, 8, 3).model, options: { ...first, rank: 9 }, reason: "rank 9 exceeds the kernel's full rank min(C_out, C_in·k²) = 8" },
    { name: 'the first convolution unless includeFirst', model: convModel(6, 8, 3).model, reason: 'first convolution (reads a graph input); set includeFirst to rewrite it' },
    { name: 'a grouped convolution', model: () => single(8, (g, x) => g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [8, 4, 3, 3], 1)], name: 'grouped', attrs: { group: 2 } })), options: first, reason: 'grouped convolution (group=2)' },
    { name: 'a depthwise convolution', model: () => single(8, (g, x) => g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [8, 1, 3, 3], 1)], name: 'dw', attrs: { group: 8 } })), options: first, reason: 'depthwise convolution' },
    { name: 'a weight that is a graph input', model: weightInput, options: first, reason: 'the weight is not a constant initializer' },
    { name: 'an overridable initializer (refused by the driver)', model: overridable, options: first, status: 'refused', reason: '"w" is an initializer that is also a graph input, so callers may override it' },
    { name: 'a computed weight', model: computedWeight, options: first, reason: 'the weight is not a constant initializer' },
    { name: 'a weight shared by two convolutions (first of them)', model: sharedWeight, options: { ...first, rank: 2 }, at: 'a', status: 'refused', reason: '"w" is shared with Conv "b", outside the match' },
    { name: 'a weight shared by two convolutions (second of them)', model: sharedWeight, options: { ...first, rank: 2 }, at: 'b', status: 'refused', reason: '"w" is shared with Conv "a", outside the match' },
  ],
});

describe('lowrank', () => {
  it('loses accuracy as the rank drops, and the kernel error is the SVD tail (Eckart–Young)', async () => {
    const { model, w, input } = convModel(6, 8, 3);
    const want = await run(model, input);
    const W = w.initializer!.data as Float32Array;
    const norm2 = W.reduce((a, v) => a + v * v, 0);
    const errors: number[] = [];
    for (let rank = 1; rank <= 8; rank++) {
      const { model: out, records } = applyRules(model, [lowrank], { options: { lowrank: { ...first, rank } } });
      errors.push(relMaxError(await run(out, input), want));
      // W_r = pw·k; the truncation is orthogonal to what it keeps: ‖W − W_r‖² + ‖W_r‖² = ‖W‖².
      const k = records[0].params!.get('k.weight')!.data as Float32Array;
      const pw = records[0].params!.get('pw.weight')!.data as Float32Array;
      let kept = 0, lost = 0;
      for (let o = 0; o < 8; o++) {
        for (let c = 0; c < 54; c++) {
          let wr = 0;
          for (let i = 0; i < rank; i++) wr += pw[o * rank + i] * k[i * 54 + c];
          kept += wr * wr;
          lost += (W[o * 54 + c] - wr) ** 2;
        }
      }
      expect(Math.abs(kept + lost - norm2) / norm2).toBeLessThan(1e-5);
    }
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]);
    expect(errors[7]).toBeLessThan(1e-4);
    expect(errors[0]).toBeGreaterThan(0.05);
  });

  it('chooses the largest rank within the budget', () => {
    // C_out=8, C_in·k²=54: r·62 + 8 ≤ budget·440.
    for (const [budget, rank] of [[0.5, 3], [0.3, 2], [0.9, 6], [0.15, 1]] as const) {
      expect(chooseRank(8, 54, { rank: 0, budget })).toBe(rank);
    }
    const { model } = convModel(6, 8, 3);
    for (const budget of [0.3, 0.5, 0.7, 0.85]) {
      const { records, paramsBefore, paramsAfter } = applyRules(model, [lowrank], { options: { lowrank: { ...first, budget } } });
      const r = records[0].params!.get('k.weight')!.dims[0];
      const layerAfter = paramsAfter - (paramsBefore - (8 * 54 + 8));
      expect(layerAfter).toBe(r * (54 + 8) + 8);
      expect(layerAfter).toBeLessThanOrEqual(budget * (8 * 54 + 8));
      expect((r + 1) * (54 + 8) + 8).toBeGreaterThan(budget * (8 * 54 + 8));
    }
  });

  it('refuses bad options once, before any match', () => {
    const { model } = convModel(6, 8, 3);
    const reason = (o: Record<string, unknown>) => one(applyRules(model, [lowrank], { options: { lowrank: { ...first, ...o } } }).records).reason;
    const usage = (o: Record<string, unknown>) => expectCode(() => reason(o), 'E_USAGE').message;
    expect(usage({ rank: 1.5 })).toBe('rule "lowrank" option "rank": expected an integer ≥ 0, found 1.5');
    expect(usage({ budget: 0 })).toBe('rule "lowrank" option "budget": expected a number in (0, 1], found 0');
    expect(usage({ budget: 1.2 })).toBe('rule "lowrank" option "budget": expected a number in (0, 1], found 1.2');
  });

  describe('fitted to data (reduced-rank regression on patch statistics)', () => {
    /** x → Relu → Conv(6→8, 3×3, stride 2, pad 1) with weight `w` and a bias, and 48 random samples. */
    function teacherWith(w: Float32Array) {
      const { model, g, x } = modelWithInput(['N', 6, 9, 9]);
      const relu = g.addNode({ op: 'Relu', inputs: [x], name: 'pre' }).outputs[0]!;
      const conv = g.addNode({ op: 'Conv', inputs: [relu, g.addInitializer('w', Tensor.float32([8, 6, 3, 3], w)), randomWeight(g, 'b', [8], 2)], name: 'conv', attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } });
      g.outputs.push(conv.outputs[0]!);
      return { model, calib: memoryCalibration('x', [6, 9, 9], randomFloats(48 * 6 * 81, 3)) };
    }
    const fitted = async (model: Model, calib: ReturnType<typeof memoryCalibration>, rank: number, scramble = false) => {
      const student = applyRules(model, [lowrank], { options: { lowrank: { rank } } });
      const record = one(student.records);
      expect(record.fit).toHaveLength(1);
      expect(record.fit![0]).toMatchObject({ target: 'conv_out0', patches: { cin: 6, cout: 8 } });
      if (scramble) for (const [i, t] of [...record.params!.values()].entries()) (t.data as Float32Array).set(randomFloats(t.size, 40 + i));
      // The algebra's exactness: the given damping, not the default ridge that trades exactness for stability on few positions.
      const report = await fitSequential(model, student.model, student.records, calib, { threads: 1, damping: DEFAULT_DAMPING });
      return { student: student.model, ...report.layers[0] };
    };

    it('recovers a rank-r layer exactly from any init', async () => {
      // W = A·B: rank 3 over 8 outputs and 54 patch entries
      const a = randomFloats(8 * 3, 11), bm = randomFloats(3 * 54, 12);
      const w = Float32Array.from({ length: 8 * 54 }, (_, k) => [0, 1, 2].reduce((s, i) => s + a[Math.floor(k / 54) * 3 + i] * bm[i * 54 + (k % 54)], 0));
      const { model, calib } = teacherWith(w);
      const fit = await fitted(model, calib, 3, true);
      expect(fit.errorBefore).toBeGreaterThan(0.5);
      // errors from the statistics are exact up to their float32 accumulation (a floor near 1e-6); onnxruntime's are not
      expect(fit.errorAfter).toBeLessThan(1e-5);
      expect(await measuredLayerError(model, 'conv_out0', fit.student, 'conv_out0', calib)).toBeLessThan(1e-9);
    });

    it('beats the data-free truncated SVD on a full-rank layer, with the error measured on onnxruntime', async () => {
      const { model, calib } = teacherWith(randomFloats(8 * 54, 1));
      for (const rank of [1, 2, 4]) {
        const fit = await fitted(model, calib, rank);
        expect(fit.errorAfter).toBeLessThan(fit.errorBefore);
        const measured = await measuredLayerError(model, 'conv_out0', fit.student, 'conv_out0', calib);
        expect(Math.abs(measured - fit.errorAfter)).toBeLessThan(1e-4 * fit.errorAfter);
      }
    });

    it('solves each rank on shared statistics as on a copy of its own: what the ranks share depends on the statistics only', async () => {
      const { model, calib } = teacherWith(randomFloats(8 * 54, 1));
      const paramsAt = (rank: number) => one(applyRules(model, [lowrank], { options: { lowrank: { rank } } }).records).params!;
      const plan = one(applyRules(model, [lowrank], { options: { lowrank: { rank: 2 } } }).records).fit![0];
      const pairs = captureBatches(calib, { x: { model, value: plan.input.name }, y: { model, value: plan.target } }, { batchSize: 16 });
      const stats = await collectLayerStats(pairs, plan.patches, { threads: 1 });
      for (const rank of [2, 4, 1]) {
        const [shared, alone] = [paramsAt(rank), paramsAt(rank)];
        const errors = [(await fitLowrank(stats, shared)).errorAfter, (await fitLowrank({ ...stats, xx: stats.xx.slice(), xy: stats.xy.slice() }, alone)).errorAfter];
        expect(errors[0]).toBe(errors[1]);
        for (const role of shared.keys()) expect(Array.from(shared.get(role)!.data as Float32Array)).toEqual(Array.from(alone.get(role)!.data as Float32Array));
      }
    });

    it('makes no fit plan for a 1-D convolution (patch statistics are 2-D)', () => {
      const { model, g, x } = modelWithInput(['N', 4, 9]);
      g.outputs.push(g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [6, 4, 3], 1)], name: 'conv' }).outputs[0]!);
      const r = one(applyRules(model, [lowrank], { options: { lowrank: { ...first, rank: 2 } } }).records);
      expect(r.status).toBe('fired');
      expect(r.fit).toBeUndefined();
    });
  });

  it('on a fixture layer: output error falls with the rank (ResNet-20, 64 calibration images)', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/resnet20/', import.meta.url));
    const model = loadModel(`${fixture}model.onnx`);
    const layer = '/layer3/layer3.0/conv2/Conv';
    // Expose the layer's output: the driver moves a graph output onto its replacement, under the same name.
    const y = model.graph.nodes.find((n) => n.name === layer)!.outputs[0]!;
    model.graph.outputs.unshift(y);
    const set = await loadCalibration(`${fixture}calib`, model, { ...readPreprocessFile(`${fixture}preprocess.json`), limit: 64 });
    const batch = (await set.batches(64).next()).value!;
    const input = { data: batch.data, dims: [batch.count, ...set.sampleShape] };
    const want = await run(model, input);
    const rows: string[] = [];
    let last = Infinity;
    for (const rank of [4, 8, 16, 24, 32, 48, 64]) {
      const { model: out, paramsAfter, paramsBefore } = applyRules(model, [lowrank], { layers: [layer], options: { lowrank: { rank } } });
      const got = await run(out, input);
      const err = relMaxError(got, want);
      const ratio = (64 * 576 + 64 + paramsAfter - paramsBefore) / (64 * 576 + 64);
      rows.push(`rank ${rank}: layer params ×${ratio.toFixed(3)}, max rel error ${err.toExponential(2)}, ‖Δ‖/‖y‖ ${rmsError(got, want).toExponential(2)}`);
      expect(err).toBeLessThan(last);
      last = err;
    }
    console.log(`lowrank on ${layer}:\n${rows.join('\n')}`);
    expect(last).toBeLessThan(1e-4);
  });
});

describe('kernelSvd', () => {
  it('gives what truncatedSvd gives, for a copy of a kernel seen at a higher rank and for a changed one', () => {
    const data = randomFloats(12 * 5 * 9, 31);
    const svd = (t: Tensor, rank: number) => {
      const { u, s, v } = kernelSvd(t, rank);
      return { u: [...u], s: [...s], v: [...v] };
    };
    const fresh = (d: Float32Array, rank: number) => {
      const { u, s, v } = truncatedSvd(d, 12, 45, rank);
      return { u: [...u], s: [...s], v: [...v] };
    };
    expect(svd(Tensor.float32([12, 5, 3, 3], data), 8)).toEqual(fresh(data, 8));
    expect(svd(Tensor.float32([12, 5, 3, 3], data.slice()), 3)).toEqual(fresh(data, 3));
    expect(svd(Tensor.float32([12, 5, 3, 3], data.slice()), 50)).toEqual(fresh(data, 12));
    const changed = data.slice();
    changed[100] += 0.5;
    expect(svd(Tensor.float32([12, 5, 3, 3], changed), 3)).toEqual(fresh(changed, 3));
    // remembered: the copy's triplets are read from the first result, not computed again
    const first = kernelSvd(Tensor.float32([12, 5, 3, 3], data), 8);
    expect(kernelSvd(Tensor.float32([12, 5, 3, 3], data.slice()), 2).u.buffer).toBe(first.u.buffer);
    expect(kernelSvd(Tensor.float32([12, 5, 3, 3], changed), 2).u.buffer).not.toBe(first.u.buffer);
  });
});
