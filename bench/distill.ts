/**
 * The main job with and without distillation, on the fixture ResNet-20 at target ratio 0.21 (FTM): compressModel with
 * `distill: false` (the closed-form fit alone), then with distillation. Reports top-1 on the full Fashion-MNIST test
 * set (10,000 images, Debian's dataset-fashion-mnist) of both, and training speed against one forward pass. Run from
 * the repository root:
 *
 *   npx tsx bench/distill.ts [--calib 256|1024] [--steps N] [--seconds S] [--threads 2] [--lr 3e-3] [--train rewritten|all]
 *
 * --calib 256 uses the fixture's 256 committed PNGs; other counts draw a seeded sample of the Fashion-MNIST training
 * set (/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz), preprocessed as the fixture was trained. The table
 * is printed and kept in bench/distill-results.md, one section per command line (a rerun replaces its section).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { ftm } from '../rewrites/index.js';
import { calibrationFromArray, loadCalibration, readPreprocessFile, sampleIndices } from '../src/calib/index.js';
import type { CalibrationSet } from '../src/calib/types.js';
import type { CompressDistillReport } from '../src/compress/compress.js';
import { compressModel, DEFAULT_DISTILL_STEPS, loadModel } from '../src/index.js';
import { formatTable } from '../src/report/table.js';
import { fashionTestSet } from './fashion-test.js';
import { top1 } from './top1.js';

const FIXTURE = 'fixtures/resnet20/';
const RESULTS = 'bench/distill-results.md';
const TRAIN_IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

export interface DistillBenchOptions {
  /** Calibration images (default 256: the fixture's PNGs). */
  calib?: number;
  /** Time budget of the distillation (default none: DEFAULT_DISTILL_STEPS steps). */
  seconds?: number;
  steps?: number;
  threads?: number;
  lr?: number;
  batchSize?: number;
  train?: 'rewritten' | 'all';
  featureWeight?: number;
  augment?: boolean;
  mix?: boolean;
  temperature?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface DistillBenchResult {
  calib: number;
  teacher: number;
  closedForm: number;
  distilled: number;
  compressSeconds: number;
  report: CompressDistillReport;
}

/** `count` Fashion-MNIST training images, a seeded sample, preprocessed as the fixture: (x/255 − 0.286)/0.353. */
export function fashionTrainSample(count: number, seed: number): CalibrationSet {
  const images = gunzipSync(readFileSync(TRAIN_IMAGES)).subarray(16);
  const pre = readPreprocessFile(`${FIXTURE}preprocess.json`);
  const size = 28 * 28;
  const picked = sampleIndices(images.length / size, count, seed);
  const data = new Float32Array(count * size);
  picked.forEach((i, k) => {
    for (let j = 0; j < size; j++) data[k * size + j] = (images[i * size + j] * pre.scale! - pre.mean![0]) / pre.std![0];
  });
  return calibrationFromArray('input', [1, 28, 28], data);
}

export async function benchDistill(options: DistillBenchOptions = {}): Promise<DistillBenchResult> {
  const threads = options.threads ?? availableParallelism();
  const seed = options.seed ?? 0;
  const log = options.log ?? (() => undefined);
  const teacher = loadModel(`${FIXTURE}model.onnx`);
  const count = options.calib ?? 256;
  const calib = count === 256 ? await loadCalibration(`${FIXTURE}calib`, teacher, readPreprocessFile(`${FIXTURE}preprocess.json`)) : fashionTrainSample(count, seed);
  const test = fashionTestSet();
  const base = { rule: ftm, targetRatio: 0.21, seed, threads };

  const { model: closed } = await compressModel(teacher, calib, { ...base, distill: false });
  const [teacherTop1, closedForm] = [await top1(teacher, test.data, test.labels, threads), await top1(closed, test.data, test.labels, threads)];
  log(`test top-1 teacher ${pct(teacherTop1)}, closed-form fit ${pct(closedForm)}`);

  let lastLog = 0;
  const t0 = performance.now();
  const { model: student, report: compressReport } = await compressModel(teacher, calib, {
    ...base,
    distill: {
      seconds: options.seconds,
      steps: options.steps,
      lr: options.lr,
      batchSize: options.batchSize,
      train: options.train,
      featureWeight: options.featureWeight,
      // The 1,024-image sample is an in-memory array, which compressModel does not take for images by default.
      augment: options.augment ?? true,
      mix: options.mix,
      temperature: options.temperature,
    },
    onProgress: (stage, _, detail) => {
      const now = (performance.now() - t0) / 1000;
      if (stage !== 'distill' || now - lastLog < 10 || !detail) return;
      lastLog = now;
      log(`  ${now.toFixed(0)} s  ${detail}`);
    },
  });
  const compressSeconds = (performance.now() - t0) / 1000;
  const report = compressReport.distill as CompressDistillReport;
  const distilled = await top1(student, test.data, test.labels, threads);
  log(`step breakdown ms: ${JSON.stringify(report.timing.stepBreakdown)}; forward ${report.timing.forwardMs.toFixed(1)} ms`);
  log(`distilled: ${report.steps} steps in ${report.timing.seconds.toFixed(1)} s, test top-1 ${pct(distilled)} (kept step ${report.keptStep}); compress ${compressSeconds.toFixed(1)} s`);
  return { calib: count, teacher: teacherTop1, closedForm, distilled, compressSeconds, report };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export const DISTILL_BENCH_HEADER = ['calib', 'trained', 'budget', 'steps', 'steps/s', 'step ms', 'forward ms', 'step/forward', 'teacher', 'closed-form', 'distilled', 'gain', 'gap to teacher', 'validation agr. before→after', 'kept'];

export function distillBenchRow(r: DistillBenchResult, budget: string): string[] {
  const d = r.report;
  const agreement = (x: number | null) => (x === null ? '-' : pct(x));
  return [
    String(r.calib),
    `${d.trainable.length} tensors, ${d.trainableParams}`,
    budget,
    String(d.steps),
    d.timing.stepsPerSecond.toFixed(1),
    d.timing.stepMs.toFixed(1),
    d.timing.forwardMs.toFixed(1),
    `${(d.timing.stepMs / d.timing.forwardMs).toFixed(1)}x`,
    pct(r.teacher),
    pct(r.closedForm),
    pct(r.distilled),
    `${((r.distilled - r.closedForm) * 100).toFixed(2)}`,
    `${((r.teacher - r.distilled) * 100).toFixed(2)}`,
    `${agreement(d.validationBefore.top1Agreement)}→${agreement(d.validationAfter.top1Agreement)}`,
    d.kept,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      calib: { type: 'string', default: '256' },
      seconds: { type: 'string' },
      steps: { type: 'string' },
      threads: { type: 'string', default: String(availableParallelism()) },
      lr: { type: 'string' },
      batch: { type: 'string' },
      train: { type: 'string', default: 'rewritten' },
      'feature-weight': { type: 'string' },
      'no-augment': { type: 'boolean', default: false },
      'no-mix': { type: 'boolean', default: false },
      temperature: { type: 'string' },
      seed: { type: 'string', default: '0' },
    },
  });
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const result = await benchDistill({
    calib: Number(values.calib),
    seconds: num(values.seconds),
    steps: num(values.steps),
    threads: Number(values.threads),
    lr: num(values.lr),
    batchSize: num(values.batch),
    train: values.train as 'rewritten' | 'all',
    featureWeight: num(values['feature-weight']),
    augment: !values['no-augment'],
    mix: !values['no-mix'],
    temperature: num(values.temperature),
    seed: Number(values.seed),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const budget = [values.steps ?? (values.seconds ? undefined : String(DEFAULT_DISTILL_STEPS)), values.seconds && `${values.seconds} s`].filter(Boolean).join(', ');
  const command = `npx tsx bench/distill.ts ${process.argv.slice(2).join(' ')}`.trim();
  const section =
    `## \`${command}\`\n\n` +
    `Measured ${new Date().toISOString().slice(0, 10)}: distillation after the closed-form fit, fixture ResNet-20, FTM target ratio 0.21, ${values.threads} threads. ` +
    'Top-1 on the 10,000 Fashion-MNIST test images; step ms: one training step (batch, augmentation, teacher, training graph, Adam); ' +
    'forward ms: one forward pass of the student with the trainables fed, on a training batch.\n\n' +
    formatTable(DISTILL_BENCH_HEADER, [distillBenchRow(result, budget)]) +
    `\n\n${stepBreakdown(result)}` +
    '\n\nloss curve (mean training loss between evaluations; validation top-1 agreement and loss):\n\n' +
    formatTable(
      ['step', 'train loss', 'validation agreement', 'validation loss'],
      result.report.evaluations.map((e, i) => [String(e.step), i ? result.report.lossCurve[i - 1].loss.toFixed(4) : '-', e.top1Agreement === null ? '-' : pct(e.top1Agreement), e.loss.toFixed(4)]),
    ) +
    '\n';
  process.stdout.write(section);
  upsertSection(RESULTS, `## \`${command}\``, section);
}

function stepBreakdown({ report, compressSeconds }: DistillBenchResult): string {
  const b = report.timing.stepBreakdown;
  const ms = (x: number) => x.toFixed(1);
  return `A step, mean ms: data ${ms(b.data)}, augmentation ${ms(b.augment)}, teacher ${ms(b.teacher)}, training graph ${ms(b.train)}, Adam ${ms(b.optimizer)}. The main job in all (closed-form fit and distillation): ${compressSeconds.toFixed(1)} s.`;
}

/** Replaces the section that starts with `heading` in `file` (or appends it): one section per command line. */
function upsertSection(file: string, heading: string, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Distillation runs\n\nWritten by `npx tsx bench/distill.ts`, one section per command line.\n';
  const sections = text.split(/\n(?=## )/);
  const at = sections.findIndex((s) => s.startsWith(`${heading}\n`));
  if (at >= 0) sections[at] = `${section.trimEnd()}\n`;
  else sections.push(`${section.trimEnd()}\n`);
  writeFileSync(file, sections.join('\n'));
}
