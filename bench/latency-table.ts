/**
 * Issue 16's latency table: every model of the bench and of the real-model manifest compressed by the main job with
 * its default options (objective params, never slower), then the compressed model timed against its original.
 *
 *   node dist/bench/latency-table.js [NAME ...]   (all rows: also writes the table into bench/latency.md)
 *
 * One child-process job per model, `--no-distill` (distillation changes weights, not the graph, so not the latency).
 * Each row gives the job's exit code and its own timing (0.5 s per model and batch size, as every user's job), then
 * the output re-timed with bench/latency-pair's longer budget (3 s per model and batch size, batch 1 and 32,
 * interleaved medians). Needs a build, and for the torchvision models Debian python3-torch and python3-torchvision.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadModel, type CompressReport } from '../src/index.js';
import type { LatencyComparison } from '../src/runtime/latency.js';
import { calibFolder, exportTorchvision, loadManifest, modelPath, PYTHON, runMainJob } from '../test/real-models/manifest.js';
import { compareLatency } from './latency.js';
import { sameOptimizedGraph } from './optimized-graph.js';

/** One model's job: what it runs on and with which arguments (beyond the defaults every row gets). */
interface LatencyJob {
  name: string;
  model: () => string;
  calib: () => Promise<string>;
  args: string[];
  /** One sample's dims (C, H, W), to re-time at the size it was compressed at. */
  sample: number[];
}

export interface LatencyRow {
  name: string;
  args: string;
  exit: number | null;
  outcome: string;
  achievedRatio?: number;
  job?: LatencyComparison;
  retimed?: { batch: number; ratio: number; originalMs: number; compressedMs: number }[];
  /** onnxruntime keeps the same nodes for both models after its optimizations: they differ in time only by noise. */
  sameKernels?: boolean;
  load: string;
}

const SCALE_CACHE = 'node_modules/.cache/ftm-scale';
const FASHION = ['--preprocess'];
const IMAGENET = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];
const BATCHES = [1, 32];

const fixture = (name: string, args: string[]): LatencyJob => ({
  name: `fixture ${name}`,
  model: () => `fixtures/${name}/model.onnx`,
  calib: async () => 'fixtures/resnet20/calib',
  args: [...FASHION, `fixtures/${name}/preprocess.json`, ...args],
  sample: [1, 28, 28],
});

/** bench/export-resnet.py's torchvision exports at 224×224 (trained-like BatchNorm, no pretrained weights). */
const at224 = (name: string, architecture: string, calib: () => Promise<string>, args: string[]): LatencyJob => ({
  name,
  model: () => execFileSync(PYTHON, ['bench/export-resnet.py', SCALE_CACHE, architecture], { encoding: 'utf8' }).trim().split('\n').at(-1)!,
  calib,
  args: ['--size', '224x224', ...IMAGENET, ...args],
  sample: [3, 224, 224],
});

function benchJobs(): LatencyJob[] {
  return [
    fixture('resnet20', ['--target-ratio', '0.21']),
    fixture('vgg', ['--target-ratio', '0.21']),
    fixture('mobilenetv2', ['--target-ratio', '0.21', '--best-effort']),
    // The fixture's 28×28 images, resized: what bench/scale.ts calibrates ResNet-18 @224 with.
    at224('ResNet-18 @224', 'resnet18', async () => 'fixtures/resnet20/calib', ['--calib-limit', '64', '--target-ratio', '0.5']),
    at224('MobileNetV3-small @224', 'mobilenet_v3_small', () => calibFolder({ calib: { kind: 'scene', width: 224, height: 224, count: 64 } }), ['--target-ratio', '0.85', '--best-effort']),
  ];
}

/** The manifest's models with its calibration and per-model arguments, its budgets replaced by the defaults. */
function manifestJobs(): LatencyJob[] {
  const manifest = loadManifest();
  const shared = dropOptions(manifest.args, { '--allow-slower': 0, '--distill-steps': 1, '--threads': 1 });
  let torchvision: string | undefined;
  return manifest.models.map((entry) => {
    const size = entry.args[entry.args.indexOf('--size') + 1].split('x').map(Number);
    return {
      name: entry.name,
      model: () => modelPath(entry, () => (torchvision ??= exportTorchvision(manifest.models))),
      calib: () => calibFolder(entry),
      args: [...shared, ...entry.args],
      sample: [3, ...size],
    };
  });
}

/** `args` without the named options (each with its number of values). */
function dropOptions(args: string[], drop: Record<string, number>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] in drop) i += drop[args[i]];
    else kept.push(args[i]);
  }
  return kept;
}

export async function benchLatencyTable(names: string[] = [], onRow?: (row: LatencyRow) => void): Promise<LatencyRow[]> {
  const all = [...benchJobs(), ...manifestJobs()];
  const unknown = names.filter((n) => !all.some((j) => j.name === n));
  if (unknown.length) throw new Error(`no such row: ${unknown.join(', ')} (rows: ${all.map((j) => j.name).join(', ')})`);
  const outDir = mkdtempSync(join(tmpdir(), 'ftm-latency-table-'));
  console.error(`jobs' outputs, reports and stderr in ${outDir}`);
  const threads = cpus().length;
  const rows: LatencyRow[] = [];
  for (const job of names.length ? all.filter((j) => names.includes(j.name)) : all) {
    const model = job.model();
    const args = ['--no-distill', '--threads', String(threads), ...job.args];
    const name = job.name.replace(/[^\w.-]+/g, '_');
    const result = await runMainJob({ args }, { name, args: [] }, model, await job.calib(), outDir);
    const report = existsSync(result.reportPath) ? (JSON.parse(readFileSync(result.reportPath, 'utf8')) as CompressReport & { latency?: LatencyComparison }) : undefined;
    const row: LatencyRow = {
      name: job.name,
      args: job.args.join(' '),
      exit: result.status,
      outcome: result.error ? `${result.error.code}: ${result.error.message}` : result.status === 0 ? 'ok' : `exit ${result.status}`,
      achievedRatio: report?.achievedRatio,
      job: report?.latency,
      load: loadavg()[0].toFixed(1),
    };
    if (existsSync(result.output)) {
      const [original, compressed] = [loadModel(model), loadModel(result.output)];
      const timed = await compareLatency(original, compressed, job.sample, BATCHES, threads);
      row.retimed = timed.map((t) => ({ batch: t.batch, ratio: t.b / t.a, originalMs: t.a, compressedMs: t.b }));
      row.sameKernels = await sameOptimizedGraph(original, compressed, threads);
    }
    console.error(`${row.name}: exit ${row.exit}, ratio ${row.achievedRatio?.toFixed(3)}, re-timed ${row.retimed?.map((t) => `b${t.batch} ${t.ratio.toFixed(2)}`).join(' ')} (load ${row.load})`);
    onRow?.(row);
    rows.push(row);
  }
  return rows;
}

const ratio = (r?: { ratio: number }) => (r ? r.ratio.toFixed(2) : '–');
const ms = (r?: { originalMs: number; compressedMs: number }) => (r ? `${r.originalMs.toFixed(r.originalMs < 10 ? 2 : 0)} → ${r.compressedMs.toFixed(r.compressedMs < 10 ? 2 : 0)}` : '');

export function latencyTable(rows: LatencyRow[]): string {
  return [
    '| model | options | exit | params ratio | job: batch 1 | job: batch N | re-timed batch 1 (ms) | re-timed batch 32 (ms) | same kernels | load |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const [b1, b32] = BATCHES.map((b) => r.retimed?.find((t) => t.batch === b));
      const flag = (t?: { ratio: number }) => (t && t.ratio >= 1.005 ? `**${ratio(t)}**` : ratio(t));
      return `| ${r.name} | \`${r.args.replace(/\|/g, '\\|')}\` | ${r.exit}${r.exit === 0 ? '' : ` (${r.outcome.replace(/\|/g, '\\|')})`} | ${r.achievedRatio?.toFixed(3) ?? ''} | ${ratio(r.job?.batch1)} | ${r.job?.batchN ? `${ratio(r.job.batchN)} (${r.job.batchN.batch})` : '–'} | ${flag(b1)} (${ms(b1)}) | ${flag(b32)} (${ms(b32)}) | ${r.sameKernels === undefined ? '' : r.sameKernels ? 'yes' : 'no'} | ${r.load} |`;
    }),
  ].join('\n');
}

const BEGIN = '<!-- latency-table: written by bench/latency-table.ts -->';
const END = '<!-- /latency-table -->';

/** Replaces the table between the markers in bench/latency.md. */
export function writeLatencyTable(rows: LatencyRow[], file = 'bench/latency.md'): void {
  const page = readFileSync(file, 'utf8');
  const [head, rest] = page.split(BEGIN);
  if (rest === undefined) throw new Error(`${file} has no ${BEGIN} marker`);
  writeFileSync(file, `${head}${BEGIN}\n${latencyTable(rows)}\n${END}${rest.split(END)[1] ?? ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const names = process.argv.slice(2);
  const rows = await benchLatencyTable(names, (row) => writeFileSync(join(tmpdir(), 'ftm-latency-table.jsonl'), `${JSON.stringify(row)}\n`, { flag: 'a' }));
  process.stdout.write(`${latencyTable(rows)}\n`);
  if (!names.length) writeLatencyTable(rows);
}
