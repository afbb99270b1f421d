/**
 * Does the main job ever hand back a model worse than its closed-form fit? Runs the built CLI on the fixture
 * (ResNet-20, Fashion-MNIST) as a user would: issue 12's case (64 images, ratio 0.5, 20 steps), then ratio 0.21 with
 * the 256 calibration images at several step budgets and without distillation. For each run: which student the job
 * kept, the validation loss of both, both students' top-1 agreement on the held-out samples, and top-1 of the emitted
 * model on the 10,000 Fashion-MNIST test images (Debian's dataset-fashion-mnist). Run from the repository root after
 * `npm run build`:
 *
 *   npx tsx bench/trust.ts [--steps 20,50,100,600] [--threads 2]
 *
 * Writes the table to bench/trust.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/index.js';
import { formatTable } from '../src/report/table.js';
import { fashionTestSet } from './fashion-test.js';
import { top1 } from './top1.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '20,50,100,600' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const threads = Number(values.threads);
const fixture = ['fixtures/resnet20/model.onnx', '--calib', 'fixtures/resnet20/calib', '--preprocess', 'fixtures/resnet20/preprocess.json', '--threads', String(threads)];
const runs: string[][] = [
  ['--calib-limit', '64', '--target-ratio', '0.5', '--distill-steps', '20'],
  ['--target-ratio', '0.21', '--no-distill'],
  ...values.steps.split(',').map((n) => ['--target-ratio', '0.21', '--distill-steps', n]),
];

const dir = mkdtempSync(join(tmpdir(), 'ftm-trust-'));
const test = fashionTestSet();
const pct = (x: number | null | undefined) => (x == null ? '-' : `${(100 * x).toFixed(2)}%`);
const rows: string[][] = [];
for (const [i, args] of runs.entries()) {
  const out = join(dir, `${i}.onnx`), reportFile = join(dir, `${i}.json`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/src/cli.js', ...fixture, ...args, '-o', out, '--report', reportFile], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`ftm-compress ${args.join(' ')} exited ${r.status}: ${r.stderr.split('\n').filter((l) => l.startsWith('ftm-compress')).join(' ')}`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  const d = report.distill;
  const accuracy = await top1(loadModel(out), test.data, test.labels, threads);
  const row = [
    args.join(' '),
    `${report.samples.fit}/${report.samples.validation}/${report.samples.heldOut}`,
    d ? `${d.steps}${d.diverged ? ' (diverged)' : ''}` : '-',
    d ? `${d.validationBefore.loss.toFixed(4)} → ${d.validationAfter.loss.toFixed(4)}` : '-',
    d?.kept ?? 'closed-form',
    d ? pct(d.heldOut.closedForm[0].top1Agreement) : '-',
    d ? pct(d.heldOut.distilled[0].top1Agreement) : '-',
    pct(report.agreement[0].top1Agreement),
    report.agreement[0].relativeError.toFixed(4),
    pct(accuracy),
    seconds.toFixed(0),
  ];
  process.stderr.write(`${row.join(' | ')}\n`);
  rows.push(row);
}
const header = ['ftm-compress fixture … ', 'fit/validation/held-out', 'steps', 'validation loss closed-form → distilled', 'kept', 'held-out agr. closed-form', 'held-out agr. distilled', 'held-out agr. emitted', 'held-out rel. error emitted', 'test top-1 emitted', 's'];
const text =
  '# Never worse than the closed-form fit\n\n' +
  `Written by \`npx tsx bench/trust.ts --steps ${values.steps} --threads ${threads}\` on ${new Date().toISOString().slice(0, 10)}. ` +
  `Each row is one run of \`node dist/src/cli.js ${fixture.join(' ')} <row> -o out.onnx --report r.json\`; ` +
  'top-1 is the emitted model\'s on the 10,000 Fashion-MNIST test images (the original: 91.03%). The validation samples choose the student; ' +
  'the held-out samples only report (both students are scored on them, the choice never reads them). Seconds are wall time on a shared machine.\n\n' +
  formatTable(header, rows) +
  '\n';
writeFileSync('bench/trust.md', text);
process.stdout.write(text);
