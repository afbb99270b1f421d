/**
 * Benchmark: `profile` against a plain onnxruntime inference pass over the same calibration set (target: profile at
 * most 2× plain inference), and their peak memory. Both run end to end: session creation and image decoding included.
 *
 *   node dist/bench/profile.js [model.onnx calib-dir preprocess.json] [--rounds N] [--threads N]
 *
 * prints a markdown table; defaults are the ResNet-20 fixture and its 256 calibration images. `benchProfile` gives the
 * same rows to bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import type { CalibrationSet } from '../src/calib/types.js';
import type { Model } from '../src/ir/model.js';
import { loadModel } from '../src/onnx/load.js';
import { ftm } from '../rewrites/ftm.js';
import { profileModel } from '../src/profile/profile.js';
import { Runner } from '../src/runtime/session.js';
import { interleave, median } from './timing.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/resnet20/', import.meta.url));
const BATCH = 64;

export interface ProfileBenchOptions {
  model?: string;
  calib?: string;
  preprocess?: string;
  threads?: number;
  rounds?: number;
}

export const PROFILE_BENCH_HEADER = ['run', 'samples', 'median ms', 'peak RSS MiB'];

type Variant = 'plain' | 'profile';

/** Rows of PROFILE_BENCH_HEADER, and profile's median time over plain inference's. */
export async function benchProfile(options: ProfileBenchOptions = {}): Promise<{ rows: string[][]; ratio: number }> {
  const { threads = availableParallelism(), rounds = 9 } = options;
  const { calib, run } = await setUp(options, threads);
  const times = await interleave({ plain: () => run('plain', calib), profile: () => run('profile', calib) }, rounds);
  const [plain, profile] = [median(times.plain), median(times.profile)];
  // Memory must not grow with the calibration set: profile's peak on the set streamed four times over, for comparison.
  const rows = [
    ['plain inference', String(calib.count), plain.toFixed(1), peakMiB(options, threads, 'plain', calib.count)],
    ['profile', String(calib.count), profile.toFixed(1), peakMiB(options, threads, 'profile', calib.count)],
    ['profile, the set 4×', String(4 * calib.count), '', peakMiB(options, threads, 'profile', 4 * calib.count)],
  ];
  return { rows, ratio: profile / plain };
}

async function setUp(options: ProfileBenchOptions, threads: number) {
  const model = loadModel(options.model ?? `${FIXTURE}model.onnx`);
  const calib = await loadCalibration(options.calib ?? `${FIXTURE}calib`, model, readPreprocessFile(options.preprocess ?? `${FIXTURE}preprocess.json`));
  const run = (variant: Variant, set: CalibrationSet) =>
    variant === 'plain' ? plainInference(model, set, threads) : profileModel(model, set, ftm, { threads, batchSize: BATCH });
  return { calib, run };
}

async function plainInference(model: Model, calib: CalibrationSet, threads: number): Promise<void> {
  const runner = await Runner.create(model, { threads });
  try {
    for await (const batch of calib.batches(BATCH)) {
      await runner.run({ [calib.inputName]: { data: batch.data, dims: [batch.count, ...calib.sampleShape] } });
    }
  } finally {
    await runner.release();
  }
}

/**
 * Peak resident memory of a fresh process that runs only this variant, once, on `samples` samples (the set repeated
 * as needed): measured in a child so that neither the other variant nor the benchmark's own bookkeeping counts.
 */
function peakMiB(options: ProfileBenchOptions, threads: number, variant: Variant, samples: number): string {
  const args = [options.model, options.calib, options.preprocess].filter((a): a is string => a !== undefined);
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args, '--threads', String(threads), '--peak-of', variant, '--samples', String(samples)], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`memory run of ${variant} failed: ${child.stderr}`);
  return (Number(child.stdout) / 1024).toFixed(0);
}

/** In a child: runs one variant and prints the process's peak resident set size in KiB. */
async function peakRun(options: ProfileBenchOptions, threads: number, variant: Variant, samples: number): Promise<void> {
  const { calib, run } = await setUp(options, threads);
  await run(variant, calib.subset(Array.from({ length: samples }, (_, i) => i % calib.count)));
  process.stdout.write(String(process.resourceUsage().maxRSS));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rounds: { type: 'string' }, threads: { type: 'string' }, 'peak-of': { type: 'string' }, samples: { type: 'string' } },
  });
  const [model, calib, preprocess] = positionals;
  const options: ProfileBenchOptions = { model, calib, preprocess, rounds: values.rounds ? Number(values.rounds) : undefined };
  const threads = values.threads ? Number(values.threads) : availableParallelism();
  if (values['peak-of']) return peakRun(options, threads, values['peak-of'] as Variant, Number(values.samples));
  const { rows, ratio } = await benchProfile({ ...options, threads });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  process.stdout.write(
    [
      `${model ?? 'fixture ResNet-20'}, batch ${BATCH}, ${threads} threads, Node ${process.version}; times are medians of interleaved runs.`,
      '',
      line(PROFILE_BENCH_HEADER),
      line(['---', '---:', '---:', '---:']),
      ...rows.map(line),
      '',
      `profile / plain inference: **${ratio.toFixed(2)}×** (target ≤ 2×)`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
