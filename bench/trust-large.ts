/**
 * Issue 12's "never worse than the closed-form fit" on a 224×224 model: torchvision's ResNet-18 (exported by
 * bench/export-resnet.py with trained-like BatchNorm, no pretrained weights) compressed to ratio 0.5 on 64 calibration
 * images resized to 224×224, without distillation and at several distillation budgets. For each run: the student
 * the job kept, both students' validation loss, both students' top-1 agreement and the emitted model's relative
 * error on the held-out samples, and the job's time per stage. Run from the repository root after `npm run build`:
 *
 *   npx tsx bench/trust-large.ts [--steps 20,50,100,600] [--threads 2]     (writes bench/trust-large.md)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/report/table.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '20,50,100,600' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const CACHE = 'node_modules/.cache/ftm-scale';
mkdirSync(CACHE, { recursive: true });
execFileSync('/usr/bin/python3', ['bench/export-resnet.py', CACHE, 'resnet18'], { stdio: ['ignore', 'ignore', 'inherit'] });
const job = [join(CACHE, 'resnet18.onnx'), '--calib', 'fixtures/resnet20/calib', '--calib-limit', '64', '--size', '224x224', '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225', '--target-ratio', '0.5', '--threads', values.threads, '--no-latency'];
const runs = [['--no-distill'], ...values.steps.split(',').map((n) => ['--distill-steps', n])];

const dir = mkdtempSync(join(tmpdir(), 'ftm-trust-large-'));
const pct = (x: number | null | undefined) => (x == null ? '-' : `${(100 * x).toFixed(1)}%`);
const rows: string[][] = [];
for (const [i, args] of runs.entries()) {
  const out = join(dir, `${i}.onnx`), reportFile = join(dir, `${i}.json`);
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, 'dist/src/cli.js', ...job, ...args, '-o', out, '--report', reportFile, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ftm-compress ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const [user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  const d = report.distill && !('skipped' in report.distill) ? report.distill : undefined;
  const s = report.seconds;
  const row = [
    args.join(' '),
    `${report.samples.fit}/${report.samples.validation}/${report.samples.heldOut}`,
    d ? `${d.validationBefore.loss.toFixed(4)} → ${d.validationAfter.loss.toFixed(4)}${d.diverged ? ' (diverged)' : ''}` : '-',
    d ? `${d.steps}${d.restarts.length ? `, ${d.restarts.length} restart${d.restarts.length > 1 ? 's' : ''} (steps ${d.restarts.map((x: { step: number }) => x.step).join(', ')}) → ${d.peakLr}` : ''}` : '-',
    d?.kept ?? 'closed-form',
    d ? pct(d.heldOut.closedForm[0].top1Agreement) : '-',
    d ? pct(d.heldOut.distilled[0].top1Agreement) : '-',
    pct(report.agreement[0].top1Agreement),
    d ? `${d.heldOut.closedForm[0].relativeError.toFixed(4)} / ${d.heldOut.distilled[0].relativeError.toFixed(4)}` : '-',
    report.agreement[0].relativeError.toFixed(4),
    `${s.fit.toFixed(0)} / ${s.distill.toFixed(0)} / ${s.total.toFixed(0)}`,
    (user + sys).toFixed(0),
  ];
  process.stderr.write(`${row.join(' | ')}\n`);
  rows.push(row);
}
const header = ['ftm-compress resnet18 … ', 'fit/validation/held-out', 'validation loss closed-form → distilled', 'steps, restarts → last peak rate', 'kept', 'held-out agr. closed-form', 'held-out agr. distilled', 'held-out agr. emitted', 'held-out rel. error closed-form / distilled', 'held-out rel. error emitted', 'fit / distill / total s', 'CPU s'];
const text =
  '# Never worse than the closed-form fit, at 224×224\n\n' +
  `Written by \`npx tsx bench/trust-large.ts --steps ${values.steps} --threads ${values.threads}\` on ${new Date().toISOString().slice(0, 10)}. ` +
  `Each row is one run of \`node dist/src/cli.js ${job.join(' ')} <row> -o out.onnx --report r.json\` (ResNet-18 from bench/export-resnet.py: ` +
  'random convolution weights, trained-like BatchNorm; the 64 images are Fashion-MNIST pictures resized to 224×224, so agreement, not accuracy, is what can be measured). ' +
  'The validation samples choose the student; the held-out samples only report. Seconds are wall time on a shared 2-core machine; CPU s is the job\'s user + system time.\n\n' +
  formatTable(header, rows) +
  '\n';
writeFileSync('bench/trust-large.md', text);
process.stdout.write(text);
