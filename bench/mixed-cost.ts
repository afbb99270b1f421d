/**
 * What the mixed plan costs against FTM alone on torchvision networks at 224×224: the same job (64 of the fixture's
 * images resized to RGB, no distillation, the default latency rule) with `--rule ftm` and `--rule mixed`, run one
 * after the other per model as child processes. Each report gives the seconds per stage, the trial fits among them;
 * costs are also in forward-pass equivalents (one onnxruntime pass of the original over the same images, measured in
 * the same run), and the held-out output error says what the extra cost bought.
 *
 *     npx tsx bench/mixed-cost.ts [MODEL ...]      (default: resnet18 mobilenet_v3_small; writes bench/mixed-cost.md)
 *
 * ResNet-50 (`npx tsx bench/mixed-cost.ts resnet50`, printed only) costs far more than ResNet-18 with the mixed plan
 * (bench/mixed-cost.md has a partial measurement).
 *
 * Models from bench/export-resnet.py into bench/scale.ts's cache (Debian python3-torch and python3-torchvision).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CompressReport } from '../src/index.js';
import { formatTable } from '../src/report/table.js';
import { at224, CACHE, forwardSeconds, type Job } from './scale.js';

/** The ratio asked per model: MobileNets cannot reach 0.5 (depthwise and first convs stay), so they get 0.7. */
const RATIOS: Record<string, number> = { resnet18: 0.5, mobilenet_v3_small: 0.7, resnet50: 0.5 };

const RULES = ['ftm', 'mixed'];

export const DEFAULT_MODELS = ['resnet18', 'mobilenet_v3_small'];

const HEADER = ['model', 'rule', 'ratio', 'trial fits s', 'layer latency s', 'fit s', 'job s', 'forward pass s', 'job ÷ forward', 'held-out output error', 'top-1 agreement', 'exit'];

export async function benchMixedCost(models: string[], threads: number): Promise<string[][]> {
  mkdirSync(CACHE, { recursive: true });
  execFileSync('/usr/bin/python3', ['bench/export-resnet.py', CACHE, ...models], { stdio: ['ignore', 'ignore', 'inherit'] });
  const rows: string[][] = [];
  for (const model of models) {
    const job = at224(model);
    const path = join(CACHE, `${model}.onnx`);
    const reports = RULES.map((rule) => runJob(path, job, rule, threads));
    const forward = await forwardSeconds(path, job, threads);
    for (const [i, rule] of RULES.entries()) {
      const { seconds: s, achievedRatio, agreement, exit } = reports[i];
      const top1 = agreement[0].top1Agreement;
      const row = [model, rule, achievedRatio.toFixed(3), (s['trial-fit'] ?? 0).toFixed(1), (s['layer-latency'] ?? 0).toFixed(1), s.fit.toFixed(1), s.total.toFixed(1), forward.toFixed(2), (s.total / forward).toFixed(0), agreement[0].relativeError.toFixed(3), top1 == null ? '' : `${(100 * top1).toFixed(1)}%`, exit === 80 ? '80 (latency gate)' : String(exit)];
      process.stdout.write(`${row.join(' | ')}\n`);
      rows.push(row);
    }
  }
  return rows;
}

function runJob(model: string, job: Job, rule: string, threads: number): CompressReport & { exit: number } {
  const report = join(CACHE, `${job.model}-mixed-cost-${rule}.report.json`);
  const args = ['dist/src/cli.js', model, '--calib', job.calib, ...job.flags, '--calib-limit', String(job.images), '--target-ratio', String(RATIOS[job.model] ?? 0.5), '--best-effort', '--rule', rule, '--no-distill', '--threads', String(threads), '-o', join(CACHE, 'out.onnx'), '--report', report];
  const run = spawnSync('node', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  // A failed gate (exit 80: the default never-slower check, whose timings swing on a shared machine) still writes the
  // report, and what it cost is what is measured here; the row says the gate failed.
  if (run.status !== 0 && run.status !== 80) throw new Error(`${job.model} --rule ${rule}: exit ${run.status}\n${run.stderr.slice(-2000)}`);
  return { ...(JSON.parse(readFileSync(report, 'utf8')) as CompressReport), exit: run.status };
}

export function mixedCostPage(rows: string[][], threads: number): string {
  return (
    `# The mixed plan's cost\n\n` +
    `Measured by \`npx tsx bench/mixed-cost.ts\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${threads} onnxruntime threads. ` +
    `\`ftm-compress MODEL --calib ... --calib-limit 64 --size 224x224 --target-ratio R --best-effort --rule ftm|mixed --no-distill\` (R = 0.5, MobileNetV3-small 0.7), ` +
    `the two rules one after the other per model; models from bench/export-resnet.py (no pretrained weights, BatchNorm made trained-like), the fixture's Fashion-MNIST images ` +
    `resized to RGB, 8 held out. job = the report's total; forward pass = one onnxruntime pass of the original over the 64 images (warm, batches of 64, median of three). ` +
    `The held-out output error is ‖student − teacher‖ / ‖teacher‖ on the logits of the 8 held-out images.\n\n` +
    formatTable(HEADER, rows) +
    `\n${existsSync(NOTES) ? `\n${readFileSync(NOTES, 'utf8')}` : ''}`
  );
}

/** What was read from a run (where the time went, what changed), kept by hand and carried into every page. */
const NOTES = 'bench/mixed-cost.notes.md';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const models = process.argv.slice(2);
  const threads = cpus().length;
  const rows = await benchMixedCost(models.length ? models : DEFAULT_MODELS, threads);
  if (!models.length) writeFileSync('bench/mixed-cost.md', mixedCostPage(rows, threads));
  else process.stdout.write(mixedCostPage(rows, threads));
}
