import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel, Tensor } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';
import { cli } from './helpers/cli.js';

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

  it('docs/library.md shows the example\'s RuleTester test verbatim (which vitest runs: examples/fold-mul-into-conv.test.ts)', () => {
    const library = readFileSync('docs/library.md', 'utf8');
    const test = readFileSync('examples/fold-mul-into-conv.test.ts', 'utf8');
    expect(library).toContain(`\`\`\`ts\n${test}\`\`\``);
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
