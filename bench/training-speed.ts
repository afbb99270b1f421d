/**
 * What a distillation step's training graph costs against one forward pass: the fixture ResNet-20 compressed by FTM at
 * ratio 0.21 (closed-form fit), the default trainables (the rewritten layers' new parameters), several batch sizes.
 * Run from the repository root (also part of `npm run bench`):
 *
 *   npx tsx bench/training-speed.ts [--threads 2] [--profile]
 *
 * Three sessions per batch size, timed in warm blocks (each turn runs one session 6 times back to back and keeps the
 * median of the last 5; turns interleaved, medians over turns):
 * - forward: the student as inference, its weights constants (what `ftm-compress` emits and a user runs);
 * - fed forward: the same graph with the trainables fed as inputs, as the training graph has them;
 * - training graph: forward, loss and backward (src/grad), trainables fed.
 * backward = training graph − fed forward, the part the gradient rules add. Each session runs alone here, so its threads
 * spin (onnxruntime's default); in the distillation loop, where sessions take turns, they do not. `--profile` also
 * shows where the training graph's time goes at batch 64, from onnxruntime's profiler: kernel time per step by the
 * forward operator each backward node differentiates (depthwise convs apart), and by the onnxruntime operator that ran.
 * The standalone run writes its tables to bench/training-speed.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ftm } from '../rewrites/index.js';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import { inferenceWithParamInputs, newParameterNames } from '../src/distill/index.js';
import { buildTrainingGraph } from '../src/grad/training-graph.js';
import { compressModel, encodeModel, loadModel, type Model } from '../src/index.js';
import { formatTable } from '../src/report/table.js';
import { Runner, type FloatTensor } from '../src/runtime/session.js';
import { interleave, median } from './timing.js';

const FIXTURE = 'fixtures/resnet20/';

export const TRAINING_SPEED_HEADER = ['batch', 'forward ms', 'fed forward ms', 'training graph ms', 'backward ms', 'backward / forward', 'backward / fed forward', 'training graph / forward'];

export interface TrainingSpeedRow {
  batch: number;
  forward: number;
  fedForward: number;
  training: number;
}

/** The fixture's FTM student at 0.21 (closed-form fit), its training graph, and its trainables as feeds. */
export async function fixtureTraining(threads: number) {
  const teacher = loadModel(`${FIXTURE}model.onnx`);
  const calib = await loadCalibration(`${FIXTURE}calib`, teacher, readPreprocessFile(`${FIXTURE}preprocess.json`));
  const { model: student } = await compressModel(teacher, calib, { rule: ftm, targetRatio: 0.21, threads });
  const trainable = newParameterNames(teacher, student);
  const training = buildTrainingGraph(student, { trainable, loss: { kind: 'kl', temperature: 4 } });
  const fed: Record<string, FloatTensor> = Object.fromEntries(
    trainable.map((n) => {
      const t = student.graph.lookup(n)!.initializer!;
      return [n, { data: t.toFloat32(), dims: t.dims }];
    }),
  );
  const inputs = (batch: number) => ({
    [calib.inputName]: { data: Float32Array.from({ length: batch * 28 * 28 }, (_, i) => Math.sin(i)), dims: [batch, 1, 28, 28] },
    teacher: { data: Float32Array.from({ length: batch * 10 }, (_, i) => Math.cos(i)), dims: [batch, 10] },
  });
  return { student, trainable, training: training.model, fed, inputs, inputName: calib.inputName };
}

type FixtureTraining = Awaited<ReturnType<typeof fixtureTraining>>;

export async function benchTrainingSpeed(fixture: FixtureTraining, threads: number, batches = [16, 32, 64, 128], rounds = 11): Promise<TrainingSpeedRow[]> {
  const { student, trainable, training, fed, inputs, inputName } = fixture;
  const output = student.graph.outputs[0].name;
  const forward = await Runner.create(student, { threads });
  const fedForward = await Runner.create(inferenceWithParamInputs(student, output, trainable), { threads });
  const trainer = await Runner.create(training, { threads });
  const rows: TrainingSpeedRow[] = [];
  try {
    for (const batch of batches) {
      const { [inputName]: x, teacher } = inputs(batch);
      const times = await interleave(
        {
          forward: () => forward.run({ [inputName]: x }),
          fedForward: () => fedForward.run({ [inputName]: x, ...fed }, [output]),
          training: () => trainer.run({ [inputName]: x, teacher, ...fed }),
        },
        rounds,
        1,
        6,
      );
      rows.push({ batch, forward: median(times.forward), fedForward: median(times.fedForward), training: median(times.training) });
    }
  } finally {
    await Promise.all([forward, fedForward, trainer].map((r) => r.release()));
  }
  return rows;
}

export function trainingSpeedTable(rows: readonly TrainingSpeedRow[]): string {
  return formatTable(
    TRAINING_SPEED_HEADER,
    rows.map((r) => {
      const backward = r.training - r.fedForward;
      return [String(r.batch), r.forward.toFixed(1), r.fedForward.toFixed(1), r.training.toFixed(1), backward.toFixed(1), `${(backward / r.forward).toFixed(2)}x`, `${(backward / r.fedForward).toFixed(2)}x`, `${(r.training / r.forward).toFixed(2)}x`];
    }),
  );
}

/** Kernel ms per step of the training graph at `batch`, median over 10 profiled runs, grouped two ways. */
export async function profileTrainingGraph(fixture: FixtureTraining, threads: number, batch = 64): Promise<{ byForwardOp: Map<string, number>; byKernel: Map<string, number> }> {
  const { student, training, fed, inputs } = fixture;
  const dir = mkdtempSync(join(tmpdir(), 'ftm-profile-'));
  try {
    const session = await ort.InferenceSession.create(encodeModel(training), {
      intraOpNumThreads: threads, executionMode: 'sequential', graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: join(dir, 'p'),
    });
    const feeds = Object.fromEntries(Object.entries({ ...inputs(batch), ...fed }).map(([n, t]) => [n, new ort.Tensor('float32', t.data, t.dims)]));
    const runs = 11;
    for (let i = 0; i < runs; i++) await session.run(feeds);
    session.endProfiling();
    const events: { cat: string; name: string; dur: number; args: { op_name: string } }[] = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
    const perNode = new Map<string, { op: string; us: number[] }>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const entry = perNode.get(e.name) ?? { op: e.args.op_name, us: [] };
      entry.us.push(e.dur);
      perNode.set(e.name, entry);
    }
    const kind = forwardKinds(student);
    const byForwardOp = new Map<string, number>();
    const byKernel = new Map<string, number>();
    const add = (m: Map<string, number>, k: string, ms: number) => m.set(k, (m.get(k) ?? 0) + ms);
    for (const [name, { op, us }] of perNode) {
      const ms = median(us.slice(1)) / 1000;
      const differentiated = name.match(/^(.*?)\/grad\//)?.[1];
      const part = differentiated === undefined ? 'forward and loss' : kind.has(differentiated) ? `backward of ${kind.get(differentiated)}` : student.graph.lookup(differentiated) ? 'gradient sums (values with several readers)' : 'backward of the loss';
      add(byForwardOp, part, ms);
      add(byKernel, op, ms);
    }
    return { byForwardOp, byKernel };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each forward node's operator, depthwise and 1×1 convs told apart. */
function forwardKinds(model: Model): Map<string, string> {
  return new Map(
    model.graph.nodes.map((n) => {
      if (n.opType !== 'Conv') return [n.name ?? '', n.opType];
      const dims = n.inputs[1]?.initializer?.dims ?? [];
      return [n.name ?? '', n.getInt('group', 1) > 1 ? 'Conv (depthwise)' : dims[2] === 1 ? 'Conv (1×1)' : 'Conv (k×k)'];
    }),
  );
}

function breakdownTable(title: string, m: Map<string, number>): string {
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  const rows = [...m].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms >= 0.05).map(([k, ms]) => [k, ms.toFixed(2), `${((100 * ms) / total).toFixed(0)}%`]);
  return formatTable([title, 'ms / step', 'share'], [...rows, ['total', total.toFixed(2), '100%']]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { threads: { type: 'string' }, profile: { type: 'boolean', default: false } } });
  const threads = values.threads ? Number(values.threads) : availableParallelism();
  const command = `npx tsx bench/training-speed.ts ${process.argv.slice(2).join(' ')}`.trim();
  const fixture = await fixtureTraining(threads);
  let text = `# Training graph against one forward pass\n\nMeasured ${new Date().toISOString().slice(0, 10)} by \`${command}\`, ${threads} threads.\n\n${trainingSpeedTable(await benchTrainingSpeed(fixture, threads))}\n`;
  if (values.profile) {
    const { byForwardOp, byKernel } = await profileTrainingGraph(fixture, threads);
    text += `\nKernel time of the training graph, batch 64 (onnxruntime's profiler; the sums exceed the wall time by its overhead):\n\n`;
    text += `${breakdownTable('part', byForwardOp)}\n\n${breakdownTable('onnxruntime kernel', byKernel)}\n`;
  }
  process.stdout.write(text);
  writeFileSync('bench/training-speed.md', text);
}
