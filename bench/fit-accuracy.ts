/**
 * Top-1 of the fixture ResNet-20 after rewriting every qualifying conv with FTM (S=2, folded form) and fitting it on
 * calibration data: data-free init only, independent fitting, and sequential fitting, with the default channel
 * pairing (c with c + C/2) and with the profiler's pairing. Run from the repository root:
 *
 *   npx tsx bench/fit-accuracy.ts [--calib 256] [--test 1000] [--threads N] [--iterations 8]
 *
 * prints a markdown table (and the per-layer errors of the sequential fits).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ftm } from '../rewrites/ftm.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import type { CalibrationSet } from '../src/calib/types.js';
import { fitSequential, outputError, type FitReport } from '../src/fit/index.js';
import { applyRules, loadModel, type LayerStats, type Model } from '../src/index.js';
import { profileModel } from '../src/profile/profile.js';
import { formatTable } from '../src/report/table.js';
import { Runner } from '../src/runtime/session.js';

const FIXTURE = 'fixtures/resnet20/';

const { values } = parseArgs({
  options: {
    calib: { type: 'string', default: '256' },
    test: { type: 'string', default: '1000' },
    threads: { type: 'string', default: String(availableParallelism()) },
    iterations: { type: 'string', default: '8' },
  },
});
const threads = Number(values.threads);
const iterations = Number(values.iterations);

const teacher = loadModel(`${FIXTURE}model.onnx`);
const preprocess = readPreprocessFile(`${FIXTURE}preprocess.json`);
const calib = await loadCalibration(`${FIXTURE}calib`, teacher, { ...preprocess, limit: Number(values.calib) });
const allTest = await loadCalibration(`${FIXTURE}test`, teacher, { ...preprocess, onWarning: () => undefined });
const labels = JSON.parse(readFileSync(`${FIXTURE}test/labels.json`, 'utf8')) as number[];
const testCount = Math.min(Number(values.test), allTest.count, labels.length);
const test = allTest.subset(Array.from({ length: testCount }, (_, i) => i));

/** Top-1 of `model` on the test images (labels.json lists them in file order, as loadCalibration reads them). */
async function top1(model: Model, data: CalibrationSet): Promise<number> {
  const runner = await Runner.create(model, { threads });
  let correct = 0, seen = 0;
  try {
    for await (const batch of data.batches(100)) {
      const out = await runner.run({ [data.inputName]: { data: batch.data, dims: [batch.count, ...data.sampleShape] } });
      const logits = Object.values(out)[0].data as Float32Array;
      const classes = logits.length / batch.count;
      for (let i = 0; i < batch.count; i++) {
        const row = logits.subarray(i * classes, (i + 1) * classes);
        if (row.indexOf(Math.max(...row)) === labels[seen + i]) correct++;
      }
      seen += batch.count;
    }
  } finally {
    await runner.release();
  }
  return correct / seen;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rows: string[][] = [['teacher', '-', pct(await top1(teacher, test)), '0', '-']];
const reports: [string, FitReport][] = [];

const profile = await profileModel(teacher, calib, { threads });
const profiled: Record<string, LayerStats> = Object.fromEntries(
  profile.layers.filter((l) => l.qualifies).map((l) => [l.layer, { groups: l.groups.map((g) => [g.prime, ...g.ghosts.map((x) => x.channel)]) }]),
);

for (const [pairing, stats] of [['default', undefined], ['profile', profiled]] as const) {
  for (const mode of ['data-free', 'independent', 'sequential'] as const) {
    const rewritten = applyRules(teacher, [ftm], { stats });
    let seconds = '-';
    if (mode !== 'data-free') {
      const report = await fitSequential(teacher, rewritten.model, rewritten.records, calib, { threads, mode, stats, iterations });
      seconds = report.seconds.toFixed(1);
      reports.push([`${pairing}, ${mode}`, report]);
    }
    const error = await outputError(teacher, rewritten.model, test, { threads });
    rows.push([`ftm ${mode}`, pairing, pct(await top1(rewritten.model, test)), error.toFixed(3), seconds]);
  }
}

const params = applyRules(teacher, [ftm]);
process.stdout.write(
  `## FTM fitting, fixture ResNet-20, all ${params.records.filter((r) => r.status === 'fired').length} qualifying convs at S=2 ` +
    `(params ${params.paramsAfter} / ${params.paramsBefore} = ${(params.paramsAfter / params.paramsBefore).toFixed(2)}), ` +
    `${calib.count} calibration images, ${iterations} rounds, top-1 on ${test.count} test images, ${threads} threads\n\n` +
    formatTable(['model', 'pairing', 'top-1', 'logit error', 'fit s'], rows) +
    '\n\nlogit error: Σ‖student − teacher‖² / Σ‖teacher − mean‖² over the test images.\n',
);
for (const [name, report] of reports.filter(([name]) => name.endsWith('sequential'))) {
  process.stdout.write(
    `\n### per-layer relative error ‖Y − Ŷ‖²/‖Y − mean Y‖², ${name} (${report.passes} partial passes, ${report.seconds.toFixed(1)} s)\n\n` +
      formatTable(
        ['layer', 'data-free', 'fitted', 's'],
        report.layers.map((l) => [l.layer, l.errorBefore.toFixed(4), l.errorAfter.toFixed(4), l.seconds.toFixed(2)]),
      ) +
      '\n',
  );
}
