/**
 * What a distillation step costs against the model's Conv MACs, on every Fashion-MNIST fixture: the ground for the
 * default budget's per-step overhead (src/distill/budget.ts). Run from the repository root:
 *
 *   npx tsx bench/distill-step-cost.ts [--steps 120] [--rounds 3] [--threads 2]
 *
 * Each run is the main job (FTM at 0.5, or the mixed plan at 0.21: the student's structure sets much of a step's
 * cost), closed form, then `--distill-steps N` at batch 64 on 256 calibration images from
 * bench/fixtures-accuracy.ts's pool; the step time is its distillation seconds over N, evaluations included, as the
 * default job spends them. Runs are interleaved within each round and the median over rounds is kept. A line through
 * the points, ms per step = a + b × (M Conv MACs per sample of the original), gives the overhead: 64 × a / b
 * sample-MACs per step.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { convMacsPerSample } from '../src/analysis/conv-macs.js';
import { STEP_OVERHEAD } from '../src/distill/budget.js';
import { compressModel, loadCalibration, loadModel, readPreprocessFile } from '../src/index.js';
import { MIXED, namedRule } from '../src/commands/rule-options.js';
import { formatTable } from '../src/report/table.js';
import { CALIB_COUNT, FIXTURES, fashionPool } from './fixtures-accuracy.js';
import { median } from './timing.js';

const BATCH = 64;

const PLANS = [
  { rule: 'ftm', targetRatio: 0.5 },
  { rule: MIXED, targetRatio: 0.21 },
];

interface StepCost {
  fixture: string;
  plan: string;
  macsPerSample: number;
  msPerStep: number;
}

export async function benchDistillStepCost(steps: number, rounds: number, threads: number): Promise<StepCost[]> {
  const pool = await fashionPool();
  const fixtures = await Promise.all(
    FIXTURES.map(async (fixture) => {
      const model = loadModel(`fixtures/${fixture}/model.onnx`);
      const calib = await loadCalibration(pool, model, { ...readPreprocessFile(`fixtures/${fixture}/preprocess.json`), limit: CALIB_COUNT, seed: 0 });
      return { fixture, model, calib };
    }),
  );
  const jobs = fixtures.flatMap((f) => PLANS.map((plan) => ({ ...f, plan, times: [] as number[] })));
  for (let round = 0; round < rounds; round++) {
    for (const job of jobs) {
      const options = { rule: namedRule(job.plan.rule), targetRatio: job.plan.targetRatio, bestEffort: true, allowSlower: true, threads, distill: { steps, batchSize: BATCH } };
      const { report } = await compressModel(job.model, job.calib, options);
      job.times.push((1000 * report.seconds.distill) / steps);
    }
  }
  return jobs.map((j) => ({
    fixture: j.fixture,
    plan: `${j.plan.rule} at ${j.plan.targetRatio}`,
    macsPerSample: convMacsPerSample(j.model.graph, j.calib.inputName, j.calib.sampleShape)!,
    msPerStep: median(j.times),
  }));
}

/** Least squares of ms per step on M MACs per sample. */
function line(rows: readonly StepCost[]): { a: number; b: number } {
  const xs = rows.map((r) => r.macsPerSample / 1e6);
  const ys = rows.map((r) => r.msPerStep);
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  const b = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return { a: my - b * mx, b };
}

export function stepCostPage(rows: readonly StepCost[], steps: number, rounds: number, threads: number): string {
  const { a, b } = line(rows);
  const table = formatTable(
    ['fixture', 'plan', 'M Conv MACs per sample', 'ms per step', 'line: a + b × M'],
    rows.map((r) => [r.fixture, r.plan, (r.macsPerSample / 1e6).toFixed(1), r.msPerStep.toFixed(1), (a + (b * r.macsPerSample) / 1e6).toFixed(1)]),
  );
  return (
    '# What a distillation step costs against the model\'s Conv MACs\n\n' +
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npx tsx bench/distill-step-cost.ts --steps ${steps} --rounds ${rounds} --threads ${threads}\`: ` +
    `the main job (FTM at 0.5, the mixed plan at 0.21) with \`--distill-steps ${steps}\` at batch ${BATCH} on 256 Fashion-MNIST training images (bench/fixtures-accuracy.ts's pool, seed 0); its ` +
    `distillation seconds over the steps (evaluations included), the median of ${rounds} rounds with the fixtures interleaved.\n\n` +
    `${table}\n\n` +
    `A line through the points: ${a.toFixed(1)} ms + ${b.toFixed(2)} ms per M MACs per sample, so a step costs as if the model ` +
    `had ${(a / b).toFixed(1)} M more Conv MACs per sample (${((BATCH * a) / b).toFixed(0)} M sample-MACs per step). ` +
    `The default budget counts ${STEP_OVERHEAD / 1e6} M sample-MACs per step (\`STEP_OVERHEAD\`, src/distill/budget.ts).\n`
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '120' },
      rounds: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(availableParallelism()) },
    },
  });
  const [steps, rounds, threads] = [Number(values.steps), Number(values.rounds), Number(values.threads)];
  const page = stepCostPage(await benchDistillStepCost(steps, rounds, threads), steps, rounds, threads);
  writeFileSync('bench/distill-step-cost.md', page);
  process.stdout.write(page);
}
