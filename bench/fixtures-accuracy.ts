/**
 * Accuracy on models the defaults were not tuned on: the main job on every Fashion-MNIST fixture (ResNet-20, VGG-style,
 * MobileNetV2-style) at each ratio, for each rule, over several seeds of calibration sampling; int8 weights as the
 * ratio-free baseline. Top-1 on the full 10k Fashion-MNIST test set. Run from the repository root:
 *
 *   npx tsx bench/fixtures-accuracy.ts [--fixtures resnet20,vgg,mobilenetv2] [--ratios 0.21,0.3,0.5]
 *     [--rules auto,mixed,ftm,lowrank,prune,int8] [--seeds 0,1,2] [--images 256] [--threads 2]
 *
 * Each seed draws 256 images (`--calib-limit 256 --seed S`) from a pool of 1,024 Fashion-MNIST training images (a
 * seeded sample written once as PNGs to a cache folder), so seeds see different calibration sets; the committed
 * fixture calibration folder has exactly 256 images and would give every seed the same set. With `--images 1024`
 * every seed has the whole pool, and seeds differ only in the split into fitting, validation and held-out samples
 * and in distillation's draws. Options are the CLI's
 * defaults, with --best-effort so a model that cannot reach a ratio (MobileNetV2-style) lands on the lowest it can.
 *
 * Every run is kept in bench/fixtures-accuracy.json with the commit and the uncommitted source files it ran on (runs
 * of the same cell replace each other), and bench/fixtures-accuracy.md is rewritten from all of them: a partial
 * command line adds to the table instead of replacing it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { AUTO, autoRules, MIXED, namedRule } from '../src/commands/rule-options.js';
import { sampleIndices } from '../src/calib/random.js';
import { compressModel, loadCalibration, loadModel, readPreprocessFile, type Model } from '../src/index.js';
import { formatTable } from '../src/report/table.js';
import { fashionTestSet } from './fashion-test.js';
import { quantizeWeightsInt8 } from './int8.js';
import { top1 } from './top1.js';

export const FIXTURES = ['resnet20', 'vgg', 'mobilenetv2'];
const RULES = [AUTO, MIXED, 'ftm', 'lowrank', 'prune', 'int8'];
const RESULTS_JSON = 'bench/fixtures-accuracy.json';
const RESULTS_MD = 'bench/fixtures-accuracy.md';
const TRAIN_IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const POOL_SIZE = 1024;
const POOL_SEED = 13;
export const CALIB_COUNT = 256;

export interface FixtureRun {
  fixture: string;
  rule: string;
  /** Target ratio; null for int8 (its size is set by the format, not a target). */
  target: number | null;
  seed: number;
  /** Calibration images (`--calib-limit`); runs recorded before the option existed had CALIB_COUNT. */
  images?: number;
  achievedRatio: number;
  top1: number;
  original: number;
  seconds: number;
  /** For auto (the CLI's default): the plan it chose, `mixed` or `ftm`. */
  chose?: string;
  /** `git rev-parse --short HEAD`, and the source files that differed from it when the run started. */
  commit: string;
  uncommitted: string[];
}

/** The calibration pool: POOL_SIZE seeded Fashion-MNIST training images as 8-bit PNGs, written once per machine. */
export async function fashionPool(): Promise<string> {
  const dir = join(tmpdir(), `ftm-fashion-pool-${POOL_SIZE}-seed${POOL_SEED}`);
  if (existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.png')).length === POOL_SIZE) return dir;
  mkdirSync(dir, { recursive: true });
  const images = gunzipSync(readFileSync(TRAIN_IMAGES)).subarray(16);
  const size = 28 * 28;
  const picked = sampleIndices(images.length / size, POOL_SIZE, POOL_SEED);
  for (const [k, i] of picked.entries()) {
    const pixels = images.subarray(i * size, (i + 1) * size);
    await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `${String(k).padStart(4, '0')}.png`));
  }
  return dir;
}

function sourceState(): { commit: string; uncommitted: string[] } {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' });
  const status = git('status', '--porcelain', '--', 'src', 'rewrites').split('\n').filter(Boolean);
  return { commit: git('rev-parse', '--short', 'HEAD').trim(), uncommitted: status.map((l) => l.slice(3)) };
}

export interface FixturesBenchOptions {
  fixtures?: string[];
  ratios?: number[];
  rules?: string[];
  seeds?: number[];
  images?: number;
  threads?: number;
  log?: (line: string) => void;
}

/** Runs the requested cells, records each in RESULTS_JSON as it finishes, and rewrites RESULTS_MD from all runs. */
export async function benchFixturesAccuracy(options: FixturesBenchOptions = {}): Promise<string> {
  const { fixtures = FIXTURES, ratios = [0.21, 0.3, 0.5], rules = RULES, seeds = [0, 1, 2], images = CALIB_COUNT } = options;
  if (!(Number.isInteger(images) && images >= 1 && images <= POOL_SIZE)) throw new Error(`--images must be an integer in [1, ${POOL_SIZE}], found ${images}`);
  const threads = options.threads ?? availableParallelism();
  const log = options.log ?? (() => undefined);
  const pool = await fashionPool();
  const test = fashionTestSet();
  for (const fixture of fixtures) {
    const model = loadModel(`fixtures/${fixture}/model.onnx`);
    const preprocess = readPreprocessFile(`fixtures/${fixture}/preprocess.json`);
    const original = await top1(model, test.data, test.labels, threads);
    const record = async (rule: string, target: number | null, seed: number, run: () => Promise<{ model: Model; ratio: number }>) => {
      const state = sourceState();
      const t0 = performance.now();
      const small: { model: Model; ratio: number; chose?: string } = await run();
      const seconds = (performance.now() - t0) / 1000;
      const acc = await top1(small.model, test.data, test.labels, threads);
      const entry: FixtureRun = { fixture, rule, target, seed, ...(rule === 'int8' ? {} : { images }), achievedRatio: small.ratio, top1: acc, original, seconds, ...(small.chose ? { chose: small.chose } : {}), ...state };
      log(`${fixture} ${rule} ${target ?? ''} seed ${seed}${rule === 'int8' ? '' : `, ${images} images`}: ratio ${small.ratio.toFixed(3)}, top-1 ${(100 * acc).toFixed(2)} (original ${(100 * original).toFixed(2)}), ${seconds.toFixed(0)} s`);
      saveRun(entry);
    };
    if (rules.includes('int8')) await record('int8', null, 0, async () => ({ model: quantizeWeightsInt8(model).model, ratio: 1 }));
    // Seeds inside ratios and rules inside seeds: an interrupted run has every rule of a ratio at its first seeds.
    for (const target of ratios) {
      for (const seed of seeds) {
        for (const rule of rules.filter((r) => r !== 'int8')) {
          await record(rule, target, seed, async () => {
            const calib = await loadCalibration(pool, model, { ...preprocess, limit: images, seed });
            // auto as the CLI runs it (src/commands/compress.ts): the mixed plan, FTM where its trials cost too much.
            const rules = rule === AUTO ? autoRules() : { rule: namedRule(rule) };
            const { model: small, report } = await compressModel(model, calib, { targetRatio: target, ...rules, bestEffort: true, threads, seed });
            const choice = report.ruleChoice;
            return { model: small, ratio: report.achievedRatio, ...(choice ? { chose: choice.chosen === 'mixed' ? MIXED : choice.fallback } : {}) };
          });
        }
      }
    }
  }
  const text = fixturesMarkdown(loadRuns());
  writeFileSync(RESULTS_MD, text);
  return text;
}

function loadRuns(): FixtureRun[] {
  return existsSync(RESULTS_JSON) ? (JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as FixtureRun[]) : [];
}

function saveRun(run: FixtureRun): void {
  const same = (r: FixtureRun) => r.fixture === run.fixture && r.rule === run.rule && r.target === run.target && r.seed === run.seed && imagesOf(r) === imagesOf(run);
  const runs = [...loadRuns().filter((r) => !same(r)), run];
  writeFileSync(RESULTS_JSON, `${JSON.stringify(runs, null, 1)}\n`);
}

/** int8 needs no calibration images. */
const imagesOf = (r: FixtureRun): number | null => (r.rule === 'int8' ? null : (r.images ?? CALIB_COUNT));

const HEADER = ['rule', 'images', 'target', 'achieved ratio', 'seeds', 'top-1 % mean', 'spread (max − min)', 'Δ to original (points)', 's per run', 'commit'];

/** The values' range, or the value when the seeds agree (a plan can land elsewhere when a seed's statistics differ). */
function span(xs: number[]): string {
  const [lo, hi] = [Math.min(...xs).toFixed(3), Math.max(...xs).toFixed(3)];
  return lo === hi ? lo : `${lo}–${hi}`;
}

/** One table per fixture: a row per rule and target, over the seeds that ran. */
export function fixturesMarkdown(runs: FixtureRun[]): string {
  const pct = (x: number) => (100 * x).toFixed(2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sections = FIXTURES.filter((f) => runs.some((r) => r.fixture === f)).map((fixture) => {
    const mine = runs.filter((r) => r.fixture === fixture);
    const cells = new Map<string, FixtureRun[]>();
    const order = (r: FixtureRun) => [imagesOf(r) ?? 0, r.target ?? 0, RULES.indexOf(r.rule)];
    const byOrder = (a: FixtureRun, b: FixtureRun) => order(a).map((x, i) => x - order(b)[i]).find((d) => d !== 0) ?? 0;
    for (const r of [...mine].sort(byOrder)) {
      const key = `${r.rule} ${imagesOf(r)} ${r.target}`;
      cells.set(key, [...(cells.get(key) ?? []), r]);
    }
    const rows = [...cells.values()].map((cell) => {
      const accs = cell.map((r) => r.top1);
      const commits = [...new Set(cell.map((r) => r.commit + (r.uncommitted.length ? '+' : '')))].join(', ');
      const chose = [...new Set(cell.flatMap((r) => (r.chose ? [r.chose] : [])))];
      return [
        chose.length ? `${cell[0].rule}: ${chose.join('/')}` : cell[0].rule,
        String(imagesOf(cell[0]) ?? '-'),
        cell[0].target === null ? '-' : String(cell[0].target),
        span(cell.map((r) => r.achievedRatio)),
        cell.map((r) => r.seed).sort().join(','),
        pct(mean(accs)),
        pct(Math.max(...accs) - Math.min(...accs)),
        (100 * (mean(accs) - cell[0].original)).toFixed(2),
        mean(cell.map((r) => r.seconds)).toFixed(0),
        commits,
      ];
    });
    return `## ${fixture} (original ${pct(mine[0].original)} %)\n\n${formatTable(HEADER, rows)}`;
  });
  const dirty = [...new Set(runs.flatMap((r) => r.uncommitted))].sort();
  return (
    '# The main job on every Fashion-MNIST fixture\n\n' +
    'Written by `npx tsx bench/fixtures-accuracy.ts` (also part of `npm run bench`) from the runs kept in ' +
    '[fixtures-accuracy.json](fixtures-accuracy.json). Each run: `ftm-compress fixtures/F/model.onnx --calib POOL --calib-limit IMAGES ' +
    '--seed S --preprocess fixtures/F/preprocess.json --target-ratio R --rule RULE --best-effort`, default options otherwise ' +
    '(distillation on), where POOL is 1,024 seeded Fashion-MNIST training images (with 1,024 images, seeds differ only in the ' +
    'split into fitting, validation and held-out samples and in distillation\'s draws); top-1 on the full 10k Fashion-MNIST test set. ' +
    'The spread is max − min over the seeds; s per run is the whole main job, on a machine shared with other jobs. ' +
    `A commit marked + ran with uncommitted changes in src/ or rewrites/ (${dirty.length ? dirty.join(', ') : 'none'}). ` +
    'int8: weight-only, per-channel scales (bench/int8.ts); its ratio column is 1 (parameters are not removed).\n\n' +
    sections.join('\n\n') +
    '\n'
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      fixtures: { type: 'string', default: FIXTURES.join(',') },
      ratios: { type: 'string', default: '0.21,0.3,0.5' },
      rules: { type: 'string', default: RULES.join(',') },
      seeds: { type: 'string', default: '0,1,2' },
      images: { type: 'string', default: String(CALIB_COUNT) },
      threads: { type: 'string', default: String(availableParallelism()) },
    },
  });
  const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const text = await benchFixturesAccuracy({
    fixtures: list(values.fixtures),
    ratios: list(values.ratios).map(Number),
    rules: list(values.rules),
    seeds: list(values.seeds).map(Number),
    images: Number(values.images),
    threads: Number(values.threads),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(text);
}
