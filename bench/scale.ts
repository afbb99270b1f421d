import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadCalibration, type PreprocessOptions } from '../src/calib/index.js';
import { loadModel, Runner } from '../src/index.js';
import { formatTable } from '../src/report/table.js';

/**
 * Issue 11's scale bench: the main job without distillation (profile, plan, fit, classifier refit) on torchvision's
 * ResNet-18 and ResNet-50 at 224×224 with 64 calibration images, and ResNet-18 at 112×112 with 64, 256 and 1,024
 * images. Each job runs as a child process under /usr/bin/time (peak RSS); its report gives the seconds per stage. The
 * cost is also stated in forward-pass equivalents: seconds ÷ one onnxruntime pass of the original over the same images,
 * measured in the same run, so the numbers mean something on any machine.
 *
 *     npx tsx bench/scale.ts [--only 224|series]      (writes bench/scale.md)
 *
 * The models are exported by bench/export-resnet.py (Debian's python3-torch and python3-torchvision, no network) into
 * node_modules/.cache/ftm-scale, with the calibration arrays.
 */

export const CACHE = 'node_modules/.cache/ftm-scale';
const IMAGES = 'fixtures/resnet20/calib';
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const SCALE_HEADER = ['model', 'input', 'images', 'options', 'profile+plan s', 'layer latency s', 'fit s', 'refit s', 'evaluate s', 'job s', 'wall s', 'forward pass s', 'closed form ÷ forward', 'wall ÷ forward', 'peak RSS GB'];

export interface Job {
  model: string;
  size: number;
  images: number;
  /** Calibration path and the preprocessing flags that go with it. */
  calib: string;
  flags: string[];
  /** Options beyond the calibration: none (the defaults) or --no-distill. */
  options: string[];
  preprocess: PreprocessOptions;
}

/** A job at 224×224 on 64 of the fixture's images, resized to RGB and ImageNet-normalized. */
export const at224 = (model: string): Job => ({ model, size: 224, images: 64, calib: IMAGES, flags: ['--size', '224x224', '--mean', IMAGENET.mean.join(','), '--std', IMAGENET.std.join(',')], options: [], preprocess: { size: [224, 224], ...IMAGENET } });

export async function benchScale(options: { threads: number; only?: '224' | 'series' }): Promise<string[][]> {
  mkdirSync(CACHE, { recursive: true });
  execFileSync('/usr/bin/python3', ['bench/export-resnet.py', CACHE, 'resnet18', 'resnet50'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const series = await seriesArray(1024, 112);
  const jobs: Job[] = [
    ...(options.only === 'series' ? [] : [at224('resnet18'), at224('resnet50')]),
    ...(options.only === '224' ? [] : [64, 256, 1024].map((images): Job => ({ model: 'resnet18', size: 112, images, calib: series, flags: [], options: ['--no-distill'], preprocess: {} }))),
  ];
  const rows: string[][] = [];
  for (const job of jobs) {
    const row = await runJob(job, options.threads);
    process.stdout.write(`${row.join(' | ')}\n`);
    rows.push(row);
  }
  return rows;
}

async function runJob(job: Job, threads: number): Promise<string[]> {
  const model = join(CACHE, `${job.model}.onnx`);
  const report = join(CACHE, `${job.model}-${job.size}-${job.images}.report.json`);
  const args = ['dist/src/cli.js', model, '--calib', job.calib, ...job.flags, '--calib-limit', String(job.images), '--target-ratio', '0.5', ...job.options, '--threads', String(threads), '-o', join(CACHE, 'out.onnx'), '--report', report];
  const t0 = performance.now();
  const run = spawnSync('/usr/bin/time', ['-v', 'node', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`${job.model} @${job.size}, ${job.images} images: exit ${run.status}\n${run.stderr.slice(-2000)}`);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1]) / 2 ** 20;
  const { seconds: s } = JSON.parse(readFileSync(report, 'utf8')) as { seconds: Record<string, number> };
  const forward = await forwardSeconds(model, job, threads);
  const latency = s['layer-latency'] ?? 0;
  const closed = s.total - s.evaluate - latency - (s.distill ?? 0);
  const f = (x: number) => x.toFixed(1);
  // the job's total covers loading, planning and writing too: what is not in a stage is counted with the profile; the
  // wall time adds process start, model loading and the final latency timing after the job
  const options = job.options.length ? job.options.join(' ') : 'defaults';
  return [job.model, `${job.size}×${job.size}`, String(job.images), options, f(s.total - latency - s.fit - s.refit - s.evaluate - (s.distill ?? 0)), f(latency), f(s.fit), f(s.refit), f(s.evaluate), f(s.total), f(wall), forward.toFixed(2), (closed / forward).toFixed(1), (wall / forward).toFixed(1), rss.toFixed(2)];
}

/** One onnxruntime pass of the original over the job's images (batches of 64, after a warm-up pass; the median of three). */
export async function forwardSeconds(path: string, job: Job, threads: number): Promise<number> {
  const model = loadModel(path);
  const calib = await loadCalibration(job.calib, model, { ...job.preprocess, limit: job.images });
  const batches: { data: Float32Array; count: number }[] = [];
  for await (const b of calib.batches(64)) batches.push({ data: b.data, count: b.count });
  const runner = await Runner.create(model, { threads });
  try {
    const pass = async () => {
      const t0 = performance.now();
      for (const b of batches) await runner.run({ [calib.inputName]: { data: b.data, dims: [b.count, ...calib.sampleShape] } });
      return (performance.now() - t0) / 1000;
    };
    await pass();
    // the median of three: one pass on a shared machine swings with the load of the moment
    const times = [await pass(), await pass(), await pass()].sort((a, b) => a - b);
    return times[1];
  } finally {
    await runner.release();
  }
}

/**
 * `count` RGB samples of size×size as one .npy (ImageNet-normalized): the fixture's 256 images, each also mirrored and
 * shifted, so the series runs on distinct natural-ish images. Written once into the cache.
 */
async function seriesArray(count: number, size: number): Promise<string> {
  const file = join(CACHE, `series-${size}-${count}.npy`);
  if (existsSync(file)) return file;
  const calib = await loadCalibration(IMAGES, loadModel(join(CACHE, 'resnet18.onnx')), { size: [size, size], ...IMAGENET });
  const plane = size * size;
  const sample = 3 * plane;
  const base: Float32Array[] = [];
  for await (const b of calib.batches(64)) for (let i = 0; i < b.count; i++) base.push(b.data.slice(i * sample, (i + 1) * sample));
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${count}, 3, ${size}, ${size}), }`;
  const padded = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11, ' ') + '\n';
  const fd = openSync(`${file}.tmp`, 'w');
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(padded.length, 8);
  writeSync(fd, prefix);
  writeSync(fd, padded, null, 'latin1');
  for (let n = 0; n < count; n++) {
    const src = base[n % base.length];
    const variant = Math.floor(n / base.length); // 0: as is, 1: mirrored, 2: shifted, 3: both
    const [mirror, shift] = [variant % 2 === 1, variant >= 2 ? Math.round(size / 8) : 0];
    const out = new Float32Array(sample);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const sx = Math.min(size - 1, (mirror ? size - 1 - x : x) + shift);
          out[c * plane + y * size + x] = src[c * plane + y * size + sx];
        }
    writeSync(fd, new Uint8Array(out.buffer));
  }
  closeSync(fd);
  execFileSync('mv', [`${file}.tmp`, file]);
  return file;
}

export function scalePage(rows: string[][], threads: number): string {
  return (
    `# Scale: torchvision ResNets\n\n` +
    `Measured by \`npx tsx bench/scale.ts\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores ` +
    `(${cpus()[0]?.model ?? '?'}), ${threads} onnxruntime threads. \`ftm-compress MODEL --calib ... --calib-limit N --target-ratio 0.5 ` +
    `[--no-distill]\`: at 224×224 with the default options (the cost-based distillation budget skips distillation on both models), the 112×112 series without distillation; 1/8 of the images held out, FTM S=2. Models from bench/export-resnet.py (no pretrained weights; BatchNorm ` +
    `made trained-like). 224×224: the fixture's Fashion-MNIST images resized to RGB; 112×112: the same images mirrored and shifted ` +
    `up to 1,024. forward pass = one onnxruntime pass of the original over the same images (warm, batches of 64, the median of three) in the same ` +
    `run; closed form = profile + plan + fit + classifier refit (the job's time without latency timing and evaluation); wall = the whole CLI run.\n\n` +
    formatTable(SCALE_HEADER, rows) +
    '\n'
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] as '224' | 'series') : undefined;
  const threads = cpus().length;
  const rows = await benchScale({ threads, only });
  writeFileSync('bench/scale.md', scalePage(rows, threads));
}
