import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRules, DataType, loadModel, RuleTester, saveModel, Tensor, type ApplyResult, type Model, type Params } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { runOnce } from '../test/helpers/ort.js';
import { pythonOnnxMissing, runOracle } from '../test/helpers/python.js';
import { conv2d, nchw, relMaxError, type Nchw } from '../test/helpers/reference.js';
import { ftm, readFtmParams, setFtmParams } from './ftm.js';
import type { FtmWeights } from './ftm-init.js';
import { ftmLayout, type FtmLayout } from './ftm-layout.js';

RuleTester.describe = describe;
RuleTester.it = it;

/** x → Conv(w, b) → Relu → y: the Conv is not the first layer only if `first` is false (a Relu before it). */
function convModel(cin: number, cout: number, k: number, attrs: { pads?: number[]; strides?: number[] } = {}, size = 6) {
  const { model, g, x } = modelWithInput(['N', cin, size, size]);
  const pre = g.addNode({ op: 'Relu', inputs: [x], name: 'pre' }).outputs[0]!;
  const w = randomWeight(g, 'w', [cout, cin, k, k], 11);
  const b = randomWeight(g, 'b', [cout], 12);
  const conv = g.addNode({ op: 'Conv', inputs: [pre, w, b], name: 'conv', attrs });
  g.outputs.push(conv.outputs[0]!);
  g.outputs[0].type = { kind: 'tensor', elemType: 1, shape: [{}, { value: cout }, {}, {}] };
  return { model, input: (n: number) => ({ data: randomFloats(n * cin * size * size, 7).map(Math.abs), dims: [n, cin, size, size] }) };
}

/** The paper's module, computed independently from its definition, with the weights the rewrite holds. */
function referenceFtm(x: Nchw, p: Params, cout: number, s: number, knf: number, groups: number[][], k: number, conv: { pads?: number[]; strides?: number[] }): Nchw {
  const f = (role: string) => p.get(role)!.data as Float32Array;
  const m = Math.ceil(cout / s);
  const h = conv2d(x, f('pw.weight'), f('pw.bias'), m, [1, 1]);
  let out = conv2d(h, f('dw.weight'), null, m, [k, k], { ...conv, group: m });
  for (let t = 1; t < s; t++) {
    const c = out.c, hw = out.h * out.w;
    const w = f(`nf${t}.weight`);
    const next = new Float64Array(out.n * 2 * c * hw);
    for (let n = 0; n < out.n; n++) {
      const z = Array.from({ length: c }, (_, ch) => out.data.subarray((n * c + ch) * hw, (n * c + ch + 1) * hw).reduce((a, b) => a + b, 0) / hw);
      for (let ch = 0; ch < c; ch++) {
        let y = 0;
        for (let i = 0; i < knf; i++) {
          const src = ch + i - (knf - 1) / 2;
          if (src >= 0 && src < c) y += w[i] * z[src];
        }
        const gate = 1 / (1 + Math.exp(-y));
        for (let i = 0; i < hw; i++) {
          const v = out.data[(n * c + ch) * hw + i];
          next[(n * 2 * c + ch) * hw + i] = v;
          next[(n * 2 * c + c + ch) * hw + i] = v * gate;
        }
      }
    }
    out = { ...out, data: next, c: 2 * c };
  }
  const hw = out.h * out.w;
  const result = new Float64Array(out.n * cout * hw);
  const scale = f('affine.scale'), shift = f('affine.shift');
  for (let n = 0; n < out.n; n++)
    groups.forEach((g, j) =>
      g.forEach((c, t) => {
        for (let i = 0; i < hw; i++) result[(n * cout + c) * hw + i] = out.data[(n * out.c + t * m + j) * hw + i] * scale[c] + shift[c];
      }),
    );
  return { data: result, n: out.n, c: cout, h: out.h, w: out.w };
}

function randomizeParams(p: Params, seed: number): void {
  let i = 0;
  for (const t of p.values()) (t.data as Float32Array).set(randomFloats(t.size, seed + i++));
}

describe('ftm rule: the paper\'s module', () => {
  const cases = [
    { name: 'S=2, knf=1, 3×3 pad 1', cin: 4, cout: 8, s: 2, knf: 1, k: 3, attrs: { pads: [1, 1, 1, 1] }, groups: [[5, 0], [1, 7], [2, 3], [6, 4]] },
    { name: 'S=3, knf=3, stride 2, odd channels', cin: 3, cout: 8, s: 3, knf: 3, k: 3, attrs: { strides: [2, 2], pads: [1, 0, 1, 0] }, groups: [[0, 3, 6], [7, 1, 4], [2, 5]] },
    { name: 'S=2, knf=3, 5 channels (one prime without ghost)', cin: 2, cout: 5, s: 2, knf: 3, k: 1, attrs: {}, groups: [[4, 1], [0, 2], [3]] },
  ];
  it.each(cases)('$name: onnxruntime equals the reference computation', async ({ cin, cout, s, knf, k, attrs, groups }) => {
    const { model, input } = convModel(cin, cout, k, attrs);
    const r = applyRules(model, [ftm], { options: { ftm: { s, knf, form: 'module' } }, stats: { conv: { groups } } });
    expect(r.records.find((x) => x.node === 'conv')!.status).toBe('fired');
    const params = r.records.find((x) => x.node === 'conv')!.params!;
    randomizeParams(params, 100);
    const feed = input(2);
    const got = (await runOnce(r.model, { x: feed }))[r.model.graph.outputs[0].name];
    const relu = nchw(feed.data.map((v) => Math.max(v, 0)), 2, cin, 6, 6);
    const want = referenceFtm(relu, params, cout, s, knf, groups, k, attrs);
    expect(got.length).toBe(want.data.length);
    expect(relMaxError(got, want.data)).toBeLessThan(1e-5);
  });
});

/** x → Relu → conv (3→4, 3×3, pad 1): channels 0 and 2 are rank-1 kernels a⊗d; channel 1 = −0.5·channel 0, channel 3 = 0.25·channel 2. */
function rank1Ghosts(): Model {
  const { model } = convModel(3, 4, 3, { pads: [1, 1, 1, 1] });
  const w = model.graph.lookup('w')!.initializer!.data as Float32Array;
  const rank1 = (a: Float32Array, d: Float32Array, gain: number) => Array.from({ length: 27 }, (_, i) => gain * a[Math.floor(i / 9)] * d[i % 9]);
  const [a0, d0, a2, d2] = [randomFloats(3, 1), randomFloats(9, 2), randomFloats(3, 3), randomFloats(9, 4)];
  w.set([...rank1(a0, d0, 1), ...rank1(a0, d0, -0.5), ...rank1(a2, d2, 1), ...rank1(a2, d2, 0.25)]);
  return model;
}

/** Convs the rule must leave, each reading a Relu of x (but "first", which reads x): two share one weight; "half" has a
 * float16 weight (a graph no runtime loads as it is: the rule's check alone is tested). */
function unfit(): Model {
  const { model, g, x } = modelWithInput(['N', 4, 5, 5]);
  const pre = g.addNode({ op: 'Relu', inputs: [x], name: 'pre' }).outputs[0]!;
  const conv = (name: string, w: ReturnType<typeof randomWeight> | typeof x, attrs = {}, input = pre) => g.addNode({ op: 'Conv', inputs: [input, w], name, attrs }).outputs[0]!;
  const outs = [
    conv('grouped', randomWeight(g, 'wg', [4, 2, 3, 3], 1), { group: 2 }),
    conv('depthwise', randomWeight(g, 'wd', [4, 1, 3, 3], 2), { group: 4 }),
    conv('computed', g.addNode({ op: 'Identity', inputs: [randomWeight(g, 'wc', [4, 4, 3, 3], 3)] }).outputs[0]!),
    conv('first', randomWeight(g, 'wf', [4, 4, 3, 3], 4), {}, x),
    conv('half', g.addInitializer('wh', new Tensor({ dataType: DataType.FLOAT16, dims: [4, 4, 3, 3] }))),
  ];
  const shared = randomWeight(g, 'ws', [4, 4, 3, 3], 5);
  outs.push(conv('shared_a', shared), conv('shared_b', shared));
  g.outputs.push(...outs);
  return model;
}

const pairs = { conv: { groups: [[5, 0], [1, 7], [2, 3], [6, 4]] } };
/** The rewritten graph keeps the interface and names its nodes after the conv. */
const namedAfterConv = (original: Model) => (r: ApplyResult) => {
  expect(r.model.graph.outputs.map((v) => v.name)).toEqual(original.graph.outputs.map((v) => v.name));
  expect(r.model.graph.nodes.every((n) => n.name === 'pre' || n.name!.startsWith('conv/ftm/'))).toBe(true);
};
const eightChannels = convModel(4, 8, 3, { pads: [1, 1, 1, 1] }).model;
const foldedVsModule = convModel(6, 10, 3, { pads: [1, 1, 1, 1], strides: [1, 2] }).model;
const fivePairs = { conv: { groups: [[9, 0], [1, 8], [2, 7], [3, 6], [4, 5]] } };
const threeGroups = { conv: { groups: [[9, 0, 4], [1, 8, 2], [3, 6], [5, 7]] } };

new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) }).run(ftm, {
  fires: [
    { name: 'folded form: keeps the interface, names nodes after the conv, prints as the golden graph', model: eightChannels, options: { form: 'folded', s: 2, knf: 1 }, stats: pairs, at: ['conv'], golden: 'ftm-folded.txt', check: namedAfterConv(eightChannels) },
    { name: 'gathered form (the default): keeps the interface, names nodes after the conv, prints as the golden graph', model: eightChannels, options: { s: 2, knf: 1 }, stats: pairs, at: ['conv'], golden: 'ftm-gathered.txt', check: namedAfterConv(eightChannels) },
    { name: 'module form: keeps the interface, names nodes after the conv, prints as the golden graph', model: eightChannels, options: { form: 'module', s: 2, knf: 3 }, stats: pairs, at: ['conv'], golden: 'ftm-module.txt', check: namedAfterConv(eightChannels) },
    {
      name: 'the folded form computes the same function as the module form (zero fusion weights)',
      model: foldedVsModule,
      options: { form: 'folded' },
      stats: fivePairs,
      at: ['conv'],
      equivalent: { tolerance: 1e-5, to: () => applyRules(foldedVsModule, [ftm], { options: { ftm: { form: 'module' } }, stats: fivePairs }).model },
    },
    {
      name: 'the gathered form at S=3 with short groups computes the same function as the module form',
      model: foldedVsModule,
      options: { form: 'gathered', s: 3 },
      stats: threeGroups,
      at: ['conv'],
      equivalent: { tolerance: 1e-5, to: () => applyRules(foldedVsModule, [ftm], { options: { ftm: { form: 'module', s: 3 } }, stats: threeGroups }).model },
    },
    {
      name: 'the gathered form computes the same function as the module form (zero fusion weights)',
      model: foldedVsModule,
      options: { form: 'gathered' },
      stats: fivePairs,
      at: ['conv'],
      equivalent: { tolerance: 1e-5, to: () => applyRules(foldedVsModule, [ftm], { options: { ftm: { form: 'module' } }, stats: fivePairs }).model },
    },
    { name: 'data-free init reproduces a conv whose kernels are rank-1 with exact scaled-copy ghosts', model: rank1Ghosts, stats: { conv: { groups: [[0, 1], [2, 3]] } }, at: ['conv'], equivalent: { tolerance: 1e-5 } },
  ],
  declines: [
    { name: 'a grouped convolution', model: unfit, at: 'grouped', reason: 'grouped convolution (group=2)' },
    { name: 'a depthwise convolution', model: unfit, at: 'depthwise', reason: 'depthwise convolution' },
    { name: 'a computed weight', model: unfit, at: 'computed', reason: 'the weight is not a constant initializer' },
    { name: 'a float16 convolution', model: unfit, at: 'half', reason: 'the weight is float16; only float32 convolutions are rewritten' },
    { name: 'the first convolution', model: unfit, at: 'first', reason: 'first convolution (reads a graph input); set includeFirst to rewrite it' },
    { name: 'a weight shared with another conv (refused by the driver)', model: unfit, at: 'shared_a', status: 'refused', reason: '"ws" is shared with Conv "shared_b", outside the match' },
    { name: 'the other conv sharing it', model: unfit, at: 'shared_b', status: 'refused', reason: '"ws" is shared with Conv "shared_a", outside the match' },
    { name: 'a pairing that does not fit S', model: convModel(4, 8, 3).model, stats: { conv: { groups: [[0, 1, 2], [3, 4, 5], [6, 7]] } }, reason: /pairing does not fit S=2: expected 4 groups of sizes \[2,2,2,2\]/ },
  ],
});

describe('ftm rule: the weights in each form', () => {
  it('readFtmParams inverts setFtmParams in the gathered form (S=3, short groups)', () => {
    const layout = ftmLayout(10, 3, threeGroups.conv.groups, 'channels') as FtmLayout;
    const w: FtmWeights = { pw: randomFloats(4 * 6, 1), pwBias: randomFloats(4, 2), dw: randomFloats(4 * 9, 3), gates: [new Float32Array(1), new Float32Array(1)], scale: randomFloats(10, 4), shift: randomFloats(10, 5) };
    const p = applyRules(foldedVsModule, [ftm], { options: { ftm: { s: 3 } }, stats: threeGroups }).records.find((r) => r.status === 'fired')!.params!;
    setFtmParams(p, w, layout);
    const back = readFtmParams(p, layout, 6, 9);
    for (const key of ['pw', 'pwBias', 'dw', 'scale', 'shift'] as const) expect(Array.from(back[key])).toEqual(Array.from(w[key]).map((v) => expect.closeTo(v, 6)));
  });
});

describe('ftm rule: where it does not fire', () => {
  it('leaves the parameters as they were when it declines everywhere', () => {
    const r = applyRules(unfit(), [ftm]);
    expect(r.records.filter((x) => x.status === 'fired')).toEqual([]);
    expect(r.paramsAfter).toBe(r.paramsBefore);
  });

  it('throws on unknown options and layers', () => {
    const { model } = convModel(4, 8, 3);
    expect(() => applyRules(model, [ftm], { options: { ftm: { ratio: 2 } } })).toThrow(/no option "ratio"/);
    expect(() => applyRules(model, [ftm], { layers: ['nope'] })).toThrow(/no node named "nope"/);
  });
});

describe('ftm rule on the fixture ResNet-20', () => {
  const fixture = loadModel('fixtures/resnet20/model.onnx');
  const rewritten = applyRules(fixture, [ftm]);

  it('rewrites every qualifying conv (all but the first), keeps the interface, and runs on onnxruntime', async () => {
    const fired = rewritten.records.filter((r) => r.status === 'fired').map((r) => r.node);
    expect(fired.length).toBe(20);
    expect(rewritten.records.find((r) => r.status !== 'fired')!.node).toBe('/conv1/Conv');
    expect(rewritten.paramsAfter).toBeLessThan(rewritten.paramsBefore * 0.1);
    const feed = { data: randomFloats(4 * 784, 3), dims: [4, 1, 28, 28] };
    const out = await runOnce(rewritten.model, { input: feed });
    expect(Object.keys(out)).toEqual(['logits']);
    expect(out.logits.length).toBe(40);
    expect(out.logits.every(Number.isFinite)).toBe(true);
    expect(fixture.graph.nodes.filter((n) => n.opType === 'Conv').length).toBe(21); // the caller's model is untouched
  });

  it.skipIf(pythonOnnxMissing)('passes the ONNX checker in every form', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftm-rule-'));
    const paths = ['gathered', 'folded', 'module'].map((form) => {
      const path = join(dir, `${form}.onnx`);
      saveModel(applyRules(fixture, [ftm], { options: { ftm: { form, knf: 3 } } }).model, path);
      return path;
    });
    const result = runOracle('check.py', paths) as Record<string, string | null>;
    expect(Object.values(result)).toEqual([null, null, null]);
  });
});
