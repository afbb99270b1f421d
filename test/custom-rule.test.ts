import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRules, loadModel, saveModel, Tensor } from '../src/index.js';
import { foldMulIntoConv } from '../examples/fold-mul-into-conv.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { cli } from './helpers/cli.js';
import { runOnce } from './helpers/ort.js';
import { relMaxError } from './helpers/reference.js';

function convMul() {
  const { model, g, x } = modelWithInput(['N', 3, 4, 4]);
  const y = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [5, 3, 3, 3], 1), randomWeight(g, 'b', [5], 2)], name: 'conv' }).outputs[0]!;
  const s = g.addInitializer('s', Tensor.float32([1, 5, 1, 1], [2, -1, 0.5, 3, 0]));
  const z = g.addNode({ op: 'Mul', inputs: [y, s], name: 'mul' }).outputs[0]!;
  z.type = { kind: 'tensor', elemType: 1 };
  g.outputs.push(z);
  return model;
}

describe('writing a custom rule (the walkthrough in docs/cli.md)', () => {
  it('docs/cli.md shows the example file verbatim', () => {
    const readme = readFileSync('docs/cli.md', 'utf8');
    const example = readFileSync('examples/fold-mul-into-conv.ts', 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('folds the Mul through the library API, computing the same function', async () => {
    const model = convMul();
    const r = applyRules(model, [foldMulIntoConv]);
    expect(r.records.map((x) => `${x.node}: ${x.status}`)).toEqual(['conv: fired']);
    expect(r.model.graph.nodes.map((n) => n.opType)).toEqual(['Conv']);
    const feed = { x: { data: randomFloats(2 * 48, 4), dims: [2, 3, 4, 4] } };
    const name = model.graph.outputs[0].name;
    expect(relMaxError((await runOnce(r.model, feed))[name], (await runOnce(model, feed))[name])).toBeLessThan(1e-6);
  });

  it('runs from the command line as --rule path/to/rule.js, and explains a decline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftm-custom-'));
    saveModel(convMul(), join(dir, 'm.onnx'));
    // Intake would fold this Mul itself (docs/intake.md): --no-intake hands the rule the model as written.
    const r = cli(['rewrite', join(dir, 'm.onnx'), '--no-intake', '--rule', 'dist/examples/fold-mul-into-conv.js', '-o', join(dir, 'out.onnx')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/conv\s+fold-mul-into-conv\s+fired/);
    expect(loadModel(join(dir, 'out.onnx')).graph.nodes.map((n) => n.opType)).toEqual(['Conv']);
    const fixture = cli(['rewrite', 'fixtures/resnet20/model.onnx', '--rule', 'dist/examples/fold-mul-into-conv.js', '--layers', '/conv1/Conv', '-o', join(dir, 'f.onnx')]);
    expect(fixture.stdout).toMatch(/\/conv1\/Conv\s+fold-mul-into-conv\s+declined\s+output is not read by exactly one Mul/);
  });
});
