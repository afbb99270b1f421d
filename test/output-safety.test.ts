import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { writeOutputs } from '../src/output/transaction.js';
import { cli } from './helpers/cli.js';
import { expectCode } from './helpers/errors.js';

const FIXTURE = 'fixtures/resnet20/model.onnx';
const CALIB = ['--calib', 'fixtures/resnet20/calib', '--preprocess', 'fixtures/resnet20/preprocess.json', '--calib-limit', '32'];
const tmp = () => mkdtempSync(join(tmpdir(), 'ftm-out-'));

describe('outputs are checked before any work', () => {
  it.each([
    ['a model in a folder nothing can be created in (/proc, where access() says yes to root)', () => ['-o', '/proc/ftm-x.onnx'], 22, /cannot write into \/proc, where the model goes: a file cannot be created there/],
    ['a report in a folder that does not exist', (out: string) => ['-o', out, '--report', '/proc/ftm-x/r.json'], 22, /cannot write into \/proc\/ftm-x, where the report goes: the folder does not exist/],
    ['the report over the input model', (out: string) => ['-o', out, '--report', FIXTURE], 21, /refusing to write the report over the input model/],
    ['the report and the model at one path', (out: string) => ['-o', out, '--report', out], 40, /the model and the report would be the same file/],
    ['the model path given twice', (out: string) => ['-o', out, '-o', out], 40, /--output was given 2 times .*; give it once/],
  ])('%s: one line, its exit code, nothing written, no work done', (_, outputs, status, message) => {
    const dir = tmp();
    const r = cli([FIXTURE, ...CALIB, '--target-ratio', '0.5', ...outputs(join(dir, 'out.onnx'))]);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1); // no progress line: refused before calibration
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('profile --json and --html are checked and written the same way', () => {
  it('an unwritable page refuses the job before any work, and the JSON report is not written either', () => {
    const dir = tmp();
    const r = cli(['profile', FIXTURE, ...CALIB, '--json', join(dir, 'p.json'), '--html', '/proc/ftm-p.html']);
    expect(r.status).toBe(22);
    expect(r.stderr.trim()).toMatch(/^ftm-compress: error E_OUTPUT_UNWRITABLE: \/proc\/ftm-p.html: cannot write into \/proc, where the page goes/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('an existing output is replaced; the input only with --force', () => {
  it('rewrite -o over an existing file replaces it; over its input it needs --force', () => {
    const dir = tmp();
    const out = join(dir, 'out.onnx');
    writeFileSync(out, 'an older file');
    const r = cli(['rewrite', FIXTURE, '--layers', '/layer3/layer3.2/conv1/Conv', '-o', out]);
    expect(r.status).toBe(0);
    expect(loadModel(out).graph.nodes.length).toBeGreaterThan(0);
    const again = cli(['rewrite', out, '--layers', '/layer3/layer3.2/conv2/Conv', '-o', out]);
    expect(again.status).toBe(21);
    expect(again.stderr).toContain('E_OUTPUT_IS_INPUT');
    expect(cli(['rewrite', out, '--layers', '/layer3/layer3.2/conv2/Conv', '-o', out, '--force']).status).toBe(0);
    expect(readdirSync(dir)).toEqual(['out.onnx']);
  });
});

describe('writes are one transaction', () => {
  it('when the second file cannot be written, the first keeps its old content and no temporary file stays', () => {
    const dir = tmp();
    const model = join(dir, 'model.onnx');
    writeFileSync(model, 'previous model');
    mkdirSync(join(dir, 'report.json')); // a directory where the report goes: its rename fails, after the model's
    const e = expectCode(() => writeOutputs([
      { path: model, what: 'model', data: new Uint8Array([1, 2, 3]) },
      { path: join(dir, 'report.json'), what: 'report', data: '{}' },
    ]), 'E_OUTPUT_UNWRITABLE');
    expect(e.message).toMatch(/cannot write the report: .* \(nothing was written: model, report\)/);
    expect(readFileSync(model, 'utf8')).toBe('previous model');
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'report.json']);
  });

  it('a new file is removed again when a later one fails', () => {
    const dir = tmp();
    expectCode(() => writeOutputs([
      { path: join(dir, 'model.onnx'), what: 'model', data: new Uint8Array([1]) },
      { path: join(dir, 'missing', 'report.json'), what: 'report', data: '{}' },
    ]), 'E_OUTPUT_UNWRITABLE');
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** Starts the main job, waits for its first progress line, sends `signal`; resolves with exit code and stderr. */
function interrupt(signal: NodeJS.Signals, dir: string): Promise<{ status: number | null; stderr: string }> {
  const cliPath = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [cliPath, FIXTURE, ...CALIB, '--target-ratio', '0.5', '-o', join(dir, 'out.onnx'), '--report', join(dir, 'r.json')]);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.includes('fit:') && !child.killed) child.kill(signal);
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

describe('an interrupted job', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: one line "interrupted", exit %i, nothing written', async (signal, status) => {
    const dir = tmp();
    const r = await interrupt(signal, dir);
    expect(r.status).toBe(status);
    const lines = r.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`ftm-compress: interrupted (${signal})`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('onnxruntime leaves nothing behind', () => {
  it('no /tmp/mat-debug-<pid>.log from the process (its telemetry is off unless asked for)', async () => {
    const cliPath = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
    const { ORT_DISABLE_TELEMETRY: _, ...env } = process.env;
    const child = spawn(process.execPath, [cliPath, 'profile', FIXTURE, ...CALIB], { env });
    const status = await new Promise((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    expect(existsSync(`/tmp/mat-debug-${child.pid}.log`)).toBe(false);
  });
});
