import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { encodeModel, inspectModel, loadModel, Tensor } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { pythonOnnxMissing, requireDebianPath, runOracle } from './helpers/python.js';

const FIXTURE = 'fixtures/resnet20/model.onnx';
const CORPUS = '/usr/share/libonnx-testdata';
const corpusMissing = requireDebianPath(CORPUS, 'libonnx-testdata', existsSync(CORPUS));

describe('inspect', () => {
  it('prints the fixture: interface, operators, every Conv with MACs', () => {
    const r = cli(['inspect', FIXTURE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('input  float32 [N, 1, 28, 28]');
    expect(r.stdout).toContain('logits  float32 [N, 10]');
    expect(r.stdout).toMatch(/\/layer3\/layer3\.2\/conv2\/Conv\s+64→64\s+3×3\s+1×1\s+1\s+36,928\s+7×7\s+1,806,336/);
  });

  it.skipIf(pythonOnnxMissing)('agrees with onnx on Conv count, parameters and output shapes (--json)', () => {
    const r = cli(['inspect', FIXTURE, '--json']);
    const report = JSON.parse(r.stdout);
    const truth = runOracle('conv_facts.py', [FIXTURE]) as { convs: { name: string; params: number; out: number[] }[]; params: number };
    expect(report.totals.params).toBe(truth.params);
    expect(report.convs.map((c: { name: string }) => c.name)).toEqual(truth.convs.map((c) => c.name));
    report.convs.forEach((c: { params: number; outputSize: number[]; outChannels: number }, i: number) => {
      expect(c.params).toBe(truth.convs[i].params);
      expect([1, c.outChannels, ...c.outputSize]).toEqual(truth.convs[i].out);
    });
  });

  it.skipIf(corpusMissing)('works on every model of the ONNX corpus', () => {
    const files = execSync(`find ${CORPUS} -name '*.onnx'`, { encoding: 'utf8' }).trim().split('\n');
    for (const f of files) expect(() => inspectModel(loadModel(f)), f).not.toThrow();
    const conv = cli(['inspect', join(CORPUS, 'data/node/test_conv_with_strides_padding/model.onnx'), '--json']);
    expect(JSON.parse(conv.stdout).convs[0]).toMatchObject({ kernel: [3, 3], strides: [2, 2], outputSize: [4, 3], macs: 108 });
  }, 60_000);
});

const { onnx } = onnxProto;

/** The fixture with one conv weight twice as wide as its input: onnxruntime would fail only when it runs. */
function fixtureWithWideWeight(): Uint8Array {
  const model = loadModel(FIXTURE);
  const w = model.graph.nodes.find((n) => n.name === '/layer1/layer1.0/conv2/Conv')!.inputs[1]!;
  const [o, i, kh, kw] = w.initializer!.dims;
  w.initializer = new Tensor({ name: w.name, dataType: w.initializer!.dataType, dims: [o, 2 * i, kh, kw], data: new Float32Array(o * 2 * i * kh * kw) });
  return encodeModel(model);
}

describe('bad input on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-cli-'));
  const file = (name: string, bytes: Uint8Array | string) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const cases: [string, () => string, string][] = [
    ['missing file', () => join(dir, 'missing.onnx'), 'E_FILE_NOT_FOUND'],
    ['a directory', () => dir, 'E_FILE_IS_DIRECTORY'],
    ['an empty file', () => file('empty.onnx', ''), 'E_FILE_EMPTY'],
    ['a truncated model', () => file('cut.onnx', readFileSync(FIXTURE).subarray(0, 5000)), 'E_MODEL_TRUNCATED'],
    ['random bytes', () => file('random.onnx', Uint8Array.from({ length: 999 }, (_, i) => (i * 37 + 11) % 256)), 'E_MODEL_NOT_ONNX'],
    ['a model with no graph', () => file('nograph.onnx', onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ version: 13 }] }).finish()), 'E_MODEL_NO_GRAPH'],
    ['a Conv weight of the wrong shape', () => file('badconv.onnx', fixtureWithWideWeight()), 'E_MODEL_INVALID'],
  ];
  const codes = new Set<number>();
  it.each(cases)('%s: one line naming the file, a distinct exit code, no stack trace', (_, path, code) => {
    const p = path();
    const r = cli(['inspect', p]);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(code);
    expect(r.stderr).toContain(p);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBeGreaterThan(1);
    expect(codes.has(r.status!)).toBe(false);
    codes.add(r.status!);
  });

  it('a file cut inside producer_name is truncated', () => {
    const bytes = readFileSync(FIXTURE);
    const producer = bytes.indexOf('pytorch');
    expect(producer).toBeGreaterThan(0);
    const r = cli(['inspect', file('cut-producer.onnx', bytes.subarray(0, producer + 3))]);
    expect(r.status).toBe(14);
    expect(r.stderr).toContain('E_MODEL_TRUNCATED');
  });

  it('an attribute without its value names the node and the attribute', () => {
    const proto = onnx.ModelProto.decode(readFileSync(FIXTURE));
    const conv = proto.graph!.node!.find((n) => n.opType === 'Conv')!;
    conv.attribute!.push({ name: 'extra', type: 5 }); // declared GRAPH, no graph
    const r = cli(['inspect', file('nograph-attr.onnx', onnx.ModelProto.encode(proto).finish())]);
    expect(r.status).toBe(18);
    expect(r.stderr.trim()).toMatch(/^ftm-compress: error E_MODEL_INVALID: .*nograph-attr\.onnx: node Conv "\/conv1\/Conv": attribute "extra" is declared GRAPH but holds no value/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--verbose adds the stack trace', () => {
    const r = cli(['inspect', join(dir, 'missing.onnx'), '--verbose']);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a usage error names the problem', () => {
    const r = cli(['inspect']);
    expect(r.status).toBe(40);
    expect(r.stderr).toContain('E_USAGE');
  });
});
