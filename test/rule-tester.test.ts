import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { foldMulIntoConv } from '../examples/fold-mul-into-conv.js';
import { printGraph, RuleTester, Tensor, type AnyRule, type FiresCase } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';

/** x → Conv → Mul by a per-channel constant → y, and a second Conv whose output is not multiplied. */
function convMul() {
  const { model, g, x } = modelWithInput(['N', 3, 4, 4]);
  const y = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [5, 3, 3, 3], 1), randomWeight(g, 'b', [5], 2)], name: 'conv' }).outputs[0]!;
  const z = g.addNode({ op: 'Mul', inputs: [y, g.addInitializer('s', Tensor.float32([1, 5, 1, 1], [2, -1, 0.5, 3, 0]))], name: 'mul' }).outputs[0]!;
  z.type = { kind: 'tensor', elemType: 1 };
  const other = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w2', [2, 3, 1, 1], 3)], name: 'other' }).outputs[0]!;
  other.type = { kind: 'tensor', elemType: 1 };
  g.outputs.push(z, other);
  return model;
}

const folds: FiresCase = { name: 'folds the Mul', model: convMul, at: ['conv'], equivalent: { tolerance: 1e-6 } };

/** Wrong on purpose: folds the scale into the weights but forgets the bias. */
const forgetsBias: AnyRule = {
  ...foldMulIntoConv,
  init(m, params, ctx) {
    foldMulIntoConv.init!(m, params, ctx);
    (params.get('bias')!.data as Float32Array).set((m.bias!.data as Float32Array));
  },
};

/** Wrong on purpose: proposes an operator onnxruntime does not know. */
const unknownOp: AnyRule = {
  ...foldMulIntoConv,
  rewrite: (m, b) => ({ replace: [[m.mul.outputs[0]!, b.op('NoSuchOp', [m.conv.inputs[0]])]] }),
  init: undefined,
};

const tmp = () => mkdtempSync(join(tmpdir(), 'ftm-rule-tester-'));

describe('RuleTester', () => {
  const env = { UPDATE: process.env.UPDATE, CI: process.env.CI };
  afterEach(() => {
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  });

  it('passes a right rule: fired where expected, equivalent, golden equal, and returns the result', async () => {
    const dir = tmp();
    const golden = join(dir, 'fold.txt');
    writeFileSync(golden, printGraph((await new RuleTester().fires(foldMulIntoConv, folds)).model.graph));
    const result = await new RuleTester({ goldenDir: dir }).fires(foldMulIntoConv, { ...folds, golden: 'fold.txt' });
    expect(result.model.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Conv']);
  });

  it('fails when the golden differs or is missing, and UPDATE=1 writes it (not when CI=true)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'fold.txt'), 'something else\n');
    delete process.env.UPDATE;
    const tester = new RuleTester({ goldenDir: dir });
    await expect(tester.fires(foldMulIntoConv, { ...folds, golden: 'fold.txt' })).rejects.toThrow(/case "folds the Mul": the printed graph differs from .*fold\.txt/);
    await expect(tester.fires(foldMulIntoConv, { ...folds, golden: 'missing.txt' })).rejects.toThrow(/golden file .*missing\.txt is missing/);
    process.env.UPDATE = '1';
    process.env.CI = 'true';
    await expect(tester.fires(foldMulIntoConv, { ...folds, golden: 'fold.txt' })).rejects.toThrow(/differs/);
    delete process.env.CI;
    const { model } = await tester.fires(foldMulIntoConv, { ...folds, golden: 'fold.txt' });
    expect(readFileSync(join(dir, 'fold.txt'), 'utf8')).toBe(printGraph(model.graph));
  });

  it('fails when a rule claimed equivalent is not, and passes it at a tolerance the error fits in', async () => {
    const tester = new RuleTester();
    await expect(tester.fires(forgetsBias, folds)).rejects.toThrow(/output "mul_out0" differs from the reference by .*tolerance 0.000001/);
    await expect(tester.fires(forgetsBias, { ...folds, equivalent: undefined })).resolves.toBeDefined();
    // the reference can be another model: the original itself, when the rule removes nothing
    await expect(tester.fires(foldMulIntoConv, { ...folds, equivalent: { tolerance: 1e-6, to: convMul } })).resolves.toBeDefined();
  });

  it('fails when the rule fires elsewhere than expected', async () => {
    const tester = new RuleTester();
    await expect(tester.fires(foldMulIntoConv, { ...folds, at: ['conv', 'other'] })).rejects.toThrow(/fired at other nodes than expected \(records: conv fired; other declined \(output is not read by exactly one Mul\)\)/);
    await expect(tester.fires(foldMulIntoConv, { ...folds, at: [] })).rejects.toThrow(/fired at other nodes than expected/);
  });

  it('fails when onnxruntime cannot load the result, even with no equivalence claimed', async () => {
    await expect(new RuleTester().fires(unknownOp, { ...folds, equivalent: undefined })).rejects.toThrow(/case "folds the Mul": onnxruntime cannot load the model: .*NoSuchOp/);
  });

  it('fails when a declines case fires, or declines for another reason or status', async () => {
    const tester = new RuleTester();
    await expect(tester.declines(foldMulIntoConv, { name: 'fires', model: convMul, at: 'conv', reason: /./ })).rejects.toThrow(/case "fires": the rule fired, expected it to decline/);
    const other = { name: 'no Mul', model: convMul, layers: ['other'] };
    await expect(tester.declines(foldMulIntoConv, { ...other, reason: 'output is not read by exactly one Mul' })).resolves.toBeDefined();
    await expect(tester.declines(foldMulIntoConv, { ...other, reason: /exactly one Mul$/ })).resolves.toBeDefined();
    await expect(tester.declines(foldMulIntoConv, { ...other, reason: 'something else' })).rejects.toThrow(/wrong reason at "other"/);
    await expect(tester.declines(foldMulIntoConv, { ...other, reason: /^else/ })).rejects.toThrow(/wrong reason at "other"/);
    await expect(tester.declines(foldMulIntoConv, { ...other, status: 'refused', reason: /Mul/ })).rejects.toThrow(/wrong status at "other"/);
    // a model may be given by path
    await expect(tester.declines(foldMulIntoConv, { name: 'fixture', model: 'fixtures/resnet20/model.onnx', at: '/conv1/Conv', reason: 'output is not read by exactly one Mul' })).resolves.toBeDefined();
  });

  it('registers one test per case with the runner\'s describe/it, and says when they are not set', async () => {
    const titles: string[] = [];
    const bodies: (() => Promise<void>)[] = [];
    RuleTester.describe = (name, body) => {
      titles.push(name);
      body();
    };
    RuleTester.it = (name, body) => {
      titles.push(name);
      bodies.push(body);
    };
    try {
      new RuleTester().run(foldMulIntoConv, { fires: [folds], declines: [{ name: 'no Mul', model: convMul, layers: ['other'], reason: /Mul/ }] });
    } finally {
      RuleTester.describe = RuleTester.it = undefined;
    }
    expect(titles).toEqual(['fold-mul-into-conv', 'fires: folds the Mul', 'declines: no Mul']);
    for (const body of bodies) await body();
    expect(() => new RuleTester().run(foldMulIntoConv, {})).toThrow(/RuleTester.describe is not set/);
  });
});
