/**
 * Top-1 of the fixture ResNet-20 after each rule rewrites every layer it can and the rewritten layers are fitted on
 * calibration data (fitSequential: each rule's own least-squares solve): data-free init only, independent fitting and
 * sequential fitting. FTM (S=2, folded form) with the default channel pairing (c with c + C/2) and with the profiler's
 * pairing; lowrank (budget 0.5, every conv but the stem); prune (ratio 0.5, the 9 block-inner convs, consumers refitted;
 * independent fitting does not apply: the teacher has no pruned channels). Run from the repository root:
 *
 *   npx tsx bench/fit-accuracy.ts [--calib 256] [--test 1000] [--threads N] [--iterations 8]
 *
 * prints markdown tables (and the per-layer errors of the sequential fits). `benchFitAccuracy` returns them for
 * bench/run.ts.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ftm } from '../rewrites/ftm.js';
import { lowrank } from '../rewrites/lowrank.js';
import { prune } from '../rewrites/prune.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import { fitSequential, type FitReport } from '../src/fit/index.js';
import { outputError } from '../src/runtime/compare.js';
import { applyRules, loadModel, type AnyRule, type LayerStats } from '../src/index.js';
import { profileModel } from '../src/profile/profile.js';
import { formatTable } from '../src/report/table.js';
import { top1 } from './top1.js';

const FIXTURE = 'fixtures/resnet20/';

export interface FitAccuracyOptions {
  /** Calibration images fitted on (default 256). */
  calib?: number;
  /** Test images scored (default 1000). */
  test?: number;
  threads?: number;
  /** Rounds of the alternating solves (FTM; default 8). */
  iterations?: number;
}

export const FIT_ACCURACY_HEADER = ['rule', 'setting', 'params', 'fit', 'top-1', 'logit error', 'fit s'];

export interface FitAccuracyResult {
  /** One line saying what was measured. */
  title: string;
  /** Rows under FIT_ACCURACY_HEADER; the first is the teacher. */
  rows: string[][];
  /** The per-layer reports of the sequential fits, by "rule, setting". */
  sequential: [name: string, report: FitReport][];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function benchFitAccuracy(options: FitAccuracyOptions = {}): Promise<FitAccuracyResult> {
  const { threads = availableParallelism(), iterations = 8 } = options;
  const teacher = loadModel(`${FIXTURE}model.onnx`);
  const preprocess = readPreprocessFile(`${FIXTURE}preprocess.json`);
  const calib = await loadCalibration(`${FIXTURE}calib`, teacher, { ...preprocess, limit: options.calib ?? 256 });
  const allTest = await loadCalibration(`${FIXTURE}test`, teacher, { ...preprocess, onWarning: () => undefined });
  // labels.json lists the test images in file order, as loadCalibration reads them
  const labels = Uint8Array.from(JSON.parse(readFileSync(`${FIXTURE}test/labels.json`, 'utf8')) as number[]);
  const testCount = Math.min(options.test ?? 1000, allTest.count, labels.length);
  const test = allTest.subset(Array.from({ length: testCount }, (_, i) => i));

  const rows: string[][] = [['teacher', '-', '1.00', '-', pct(await top1(teacher, test, labels, threads)), '0', '-']];
  const sequential: [string, FitReport][] = [];
  const profile = await profileModel(teacher, calib, ftm, { threads });
  const profiled: Record<string, LayerStats> = Object.fromEntries(
    profile.layers.filter((l) => l.qualifies).map((l) => [l.layer, { groups: l.groups.map((g) => [g.prime, ...g.ghosts.map((x) => x.channel)]) }]),
  );
  const cases: { rule: AnyRule; setting: string; options?: Record<string, unknown>; stats?: Record<string, LayerStats>; independent: boolean }[] = [
    { rule: ftm, setting: 'S=2, default pairing', independent: true },
    { rule: ftm, setting: 'S=2, profiler pairing', stats: profiled, independent: true },
    { rule: lowrank, setting: 'budget 0.5', options: { budget: 0.5 }, independent: true },
    { rule: prune, setting: 'ratio 0.5', options: { ratio: 0.5 }, independent: false },
  ];
  for (const c of cases) {
    const modes: ('data-free' | 'independent' | 'sequential')[] = ['data-free', ...(c.independent ? (['independent'] as const) : []), 'sequential'];
    for (const mode of modes) {
      const rewritten = applyRules(teacher, [c.rule], { stats: c.stats, options: c.options && { [c.rule.name]: c.options } });
      let seconds = '-';
      if (mode !== 'data-free') {
        const report = await fitSequential(teacher, rewritten.model, rewritten.records, calib, { threads, mode, iterations });
        seconds = report.seconds.toFixed(1);
        if (mode === 'sequential') sequential.push([`${c.rule.name}, ${c.setting}`, report]);
      }
      const error = await outputError(teacher, rewritten.model, test, { threads });
      const params = (rewritten.paramsAfter / rewritten.paramsBefore).toFixed(2);
      rows.push([c.rule.name, c.setting, params, mode, pct(await top1(rewritten.model, test, labels, threads)), error.toFixed(3), seconds]);
    }
  }
  const title =
    `Fitting each rule's rewrites on the fixture ResNet-20 (every layer each rule can rewrite): ${calib.count} calibration images, ` +
    `${iterations} FTM rounds, top-1 on ${test.count} test images, ${threads} threads`;
  return { title, rows, sequential };
}

/** The tables as markdown: the summary, then the per-layer errors of each sequential fit. */
export function formatFitAccuracy(result: FitAccuracyResult): string {
  let text =
    `## ${result.title}\n\n` +
    formatTable(FIT_ACCURACY_HEADER, result.rows) +
    '\n\nparams: the model\'s parameters after / before. logit error: Σ‖student − teacher‖² / Σ‖teacher − mean‖² over the test images.\n';
  for (const [name, report] of result.sequential) {
    text +=
      `\n### per-layer relative error ‖Y − Ŷ‖²/‖Y − mean Y‖², ${name}, sequential (${report.passes} partial passes, ${report.seconds.toFixed(1)} s)\n\n` +
      formatTable(
        ['layer', 'fitted to', 'before', 'fitted', 's'],
        report.layers.map((l) => [l.layer, l.target, l.errorBefore.toFixed(4), l.errorAfter.toFixed(4), l.seconds.toFixed(2)]),
      ) +
      '\n';
  }
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      calib: { type: 'string', default: '256' },
      test: { type: 'string', default: '1000' },
      threads: { type: 'string', default: String(availableParallelism()) },
      iterations: { type: 'string', default: '8' },
    },
  });
  const result = await benchFitAccuracy({ calib: Number(values.calib), test: Number(values.test), threads: Number(values.threads), iterations: Number(values.iterations) });
  process.stdout.write(formatFitAccuracy(result));
}
