import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { pythonOnnxMissing, runOracle } from './helpers/python.js';

const FIXTURE = 'fixtures/resnet20/model.onnx';
const CALIB = ['--calib', 'fixtures/resnet20/calib', '--preprocess', 'fixtures/resnet20/preprocess.json', '--calib-limit', '96'];

describe('the main job: ftm-compress model.onnx --calib imgs/ --target-ratio R', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-compress-'));
  // A short distillation keeps the suite fast; the default budget is measured in the benchmark.
  const run = (name: string, extra: string[] = []) => cli([FIXTURE, ...CALIB, '--target-ratio', '0.3', '--distill-steps', '20', '-o', join(dir, `${name}.onnx`), '--report', join(dir, `${name}.json`), ...extra]);
  const first = run('a');
  const report = existsSync(join(dir, 'a.json')) ? JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')) : undefined;

  it('writes a smaller model with the same interface, on the target ratio, and a report', () => {
    expect(first.stderr).not.toMatch(/error/);
    expect(first.status).toBe(0);
    expect(Math.abs(report.achievedRatio - 0.3)).toBeLessThanOrEqual(0.01);
    const out = loadModel(join(dir, 'a.onnx'));
    const original = loadModel(FIXTURE);
    expect(out.graph.inputs.map((v) => [v.name, v.shape])).toEqual(original.graph.inputs.map((v) => [v.name, v.shape]));
    expect(out.graph.outputs.map((v) => [v.name, v.shape])).toEqual(original.graph.outputs.map((v) => [v.name, v.shape]));
    expect(report.samples).toEqual({ fit: 84, heldOut: 12 });
    expect(first.stdout).toMatch(/held-out \(12 samples, not used for fitting\) "logits": top-1 agreement \d+\.\d%/);
  });

  it('fits every rewritten layer far better than the data-free start, and agrees with the teacher on held-out data', () => {
    const rewritten = report.layers.filter((l: { rewritten: boolean }) => l.rewritten);
    expect(rewritten.length).toBeGreaterThan(3);
    for (const l of rewritten) expect(l.errorAfter).toBeLessThan(0.75 * l.errorBefore);
    // The closed-form fit, before the (here very short) distillation, scored on the held-out samples.
    expect(report.distill.heldOutBefore.top1Agreement).toBeGreaterThan(0.6);
    expect(report.classifier.applied).toBe(true);
  });

  it('distils after the fit on the fitting samples, monitored on the held-out ones, and reports it', () => {
    const d = report.distill;
    expect(d.steps).toBe(20);
    expect(d.frozen).toEqual([]);
    const rewritten = report.layers.filter((l: { rewritten: boolean }) => l.rewritten).length;
    expect(d.trainable.length).toBeGreaterThanOrEqual(4 * rewritten); // pw weight and bias, dw weight, affine: per layer
    expect(d.keptStep).toBe(20);
    expect(d.evaluations.map((e: { step: number }) => e.step)).toEqual([0, 20]);
    // What the report says of the kept parameters is what the emitted model does on the held-out samples.
    expect(d.heldOutAfter.top1Agreement).toBeCloseTo(report.agreement[0].top1Agreement, 10);
    expect(first.stdout).toMatch(/distillation: 20 steps on [\d,]+ parameters \(\d+ tensors\); held-out loss \d\.\d{4}, agreement [\d.]+% → \d\.\d{4}/);
    expect(first.stderr).toMatch(/^distill: 100\/100 % \(100%\) loss \d+\.\d{4}, held-out agreement [\d.]+%$/m);
    const off = run('off', ['--no-distill']);
    expect(off.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'off.json'), 'utf8')).distill).toBeUndefined();
    expect(off.stderr).not.toMatch(/^distill:/m);
  });

  it('is deterministic: the same inputs and seed give the same model bytes and the same report', () => {
    const again = run('b');
    expect(again.status).toBe(0);
    expect(readFileSync(join(dir, 'b.onnx')).equals(readFileSync(join(dir, 'a.onnx')))).toBe(true);
    const other = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
    const timeless = (r: { distill: object }) => ({ ...r, output: '', seconds: 0, distill: { ...r.distill, timing: 0 } });
    expect(timeless(other)).toEqual(timeless(report));
  });

  it.skipIf(pythonOnnxMissing)('emits a model the ONNX checker accepts', () => {
    expect(runOracle('check.py', [join(dir, 'a.onnx')])).toEqual({ [join(dir, 'a.onnx')]: null });
  });

  it('CI gates: exit 80 when the agreement or the output error is worse than asked, 0 when met', () => {
    const strict = run('gate', ['--min-agreement', '0.999', '--no-distill']);
    expect(strict.status).toBe(80);
    expect(strict.stderr).toMatch(/E_GATE_FAILED: quality gate failed: held-out top-1 agreement 0\.\d+ < --min-agreement 0\.999/);
    expect(existsSync(join(dir, 'gate.onnx'))).toBe(true); // written for inspection
    const error = run('gate2', ['--max-output-error', '0.00001', '--no-distill']);
    expect(error.status).toBe(80);
    expect(error.stderr).toMatch(/held-out relative output error 0\.\d+ > --max-output-error 0\.00001/);
    expect(run('gate3', ['--min-agreement', '0.3', '--max-output-error', '2', '--no-distill']).status).toBe(0);
  }, 180_000);

  it('without a TTY, progress is plain lines on stderr and stdout is the summary', () => {
    expect(first.stderr).toMatch(/^profile: 0\/100 % \(0%\)$/m);
    expect(first.stderr).toMatch(/^fit: 100\/100 % \(100%\)$/m);
    expect(first.stderr).not.toMatch(/\x1b\[/);
    expect(first.stdout).toMatch(/ftm \(s=2\): \d+ of 21 layers rewritten; parameters 271,402 → [\d,]+, ratio 0\.\d{3} \(target 0\.3\)/);
  });
});

describe('the main job: bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-compress-bad-'));
  const out = join(dir, 'out.onnx');
  it.each([
    ['ratio 0', ['--target-ratio', '0'], 40, /--target-ratio must be in \(0, 1\], found 0/],
    ['ratio 1.5', ['--target-ratio', '1.5'], 40, /--target-ratio must be in \(0, 1\], found 1.5/],
    ['ratio -0.2', ['--target-ratio', '-0.2'], 40, /found -0.2/],
    ['ratio abc', ['--target-ratio', 'abc'], 40, /found NaN/],
    ['an unreachable ratio', ['--target-ratio', '0.01'], 71, /E_TARGET_UNREACHABLE: cannot reach parameter ratio 0.01: the smallest reachable with rule "ftm" on the qualifying layers is 0\.\d{3}/],
    ['no target ratio', [], 40, /Missing required argument: target-ratio/],
    ['distillation steps 0', ['--target-ratio', '0.3', '--distill-steps', '0'], 40, /distillation steps must be a positive integer, found 0/],
    ['a negative distillation time', ['--target-ratio', '0.3', '--distill-time', '-5'], 40, /distillation time must be positive seconds, found -5/],
    ['an unknown --train', ['--target-ratio', '0.3', '--train', 'some'], 40, /Invalid values: Argument: train, Given: "some", Choices: "rewritten", "all"/],
  ])('%s: one line, a distinct exit code, nothing written', (_, extra, status, message) => {
    const r = cli([FIXTURE, ...CALIB, '-o', out, ...extra]);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').filter((l) => !/^(profile|fit|refit|distill|evaluate):/.test(l))).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an output path that cannot be written fails before any work', () => {
    const r = cli([FIXTURE, ...CALIB, '--target-ratio', '0.3', '-o', join(dir, 'missing/out.onnx')]);
    expect(r.status).toBe(22);
    expect(r.stderr).toMatch(/E_OUTPUT_UNWRITABLE: .*missing\/out.onnx: cannot write into/);
    expect(r.stderr).not.toMatch(/^profile:/m);
  });

  it('calibration samples of the wrong shape or channels', () => {
    const npy = join(dir, 'calib');
    mkdirSync(npy);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from(Uint16Array.of(header.length + pad + 1).buffer), Buffer.from(header + ' '.repeat(pad) + '\n')]);
    writeFileSync(join(npy, 'rgb.npy'), Buffer.concat([head, Buffer.alloc(3 * 28 * 28 * 4)]));
    const r = cli([FIXTURE, '--calib', npy, '--target-ratio', '0.3', '-o', out]);
    expect(r.status).toBe(53);
    expect(r.stderr).toMatch(/E_CALIB_SHAPE: .*rgb\.npy/);
    expect(existsSync(out)).toBe(false);
  });
});
