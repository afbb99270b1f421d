/**
 * Where onnxruntime spends a model's time, kernel by kernel: `node dist/bench/kernel-profile.js MODEL [--sample CxHxW]
 * [--batch N] [--runs N] [--threads N] [--optimized OUT.onnx]`. Runs the model warm under onnxruntime's profiler
 * (the same session options as the main job's Runner) and prints the kernel time per operator type and the slowest
 * nodes, as they stand after onnxruntime's graph optimizations (`--optimized` saves that graph: what survived fusion
 * and the NCHWc layout). Used for issue 16's latency analysis in bench/latency.md.
 */
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../src/index.js';
import { formatTable } from '../src/report/table.js';

interface ProfileEvent { cat: string; name: string; dur: number; args?: { op_name?: string } }

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { sample: { type: 'string' }, batch: { type: 'string', default: '1' }, runs: { type: 'string', default: '100' }, threads: { type: 'string' }, optimized: { type: 'string' }, top: { type: 'string', default: '15' } },
});
const [modelPath] = positionals;
if (!modelPath) throw new Error('usage: kernel-profile MODEL [--sample CxHxW] [--batch N] [--runs N] [--threads N] [--optimized OUT.onnx]');
const model = loadModel(modelPath);
const input = model.graph.inputs[0];
const sample = values.sample ? values.sample.split('x').map(Number) : input.shape?.slice(1);
if (!sample?.every((d): d is number => typeof d === 'number' && d > 0)) throw new Error(`expected fixed sample dims (or --sample CxHxW), found ${JSON.stringify(sample)}`);
const batch = Number(values.batch);
const runs = Number(values.runs);
const prefix = join(tmpdir(), `ftm-kernel-profile-${process.pid}`);
const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: Number(values.threads ?? availableParallelism()),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
};
const session = await ort.InferenceSession.create(modelPath, { ...options, ...(values.optimized ? { optimizedModelFilePath: values.optimized } : {}) });
const dims = [batch, ...sample];
const feeds = { [input.name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)), dims) };
for (let i = 0; i < 5; i++) await session.run(feeds);
// The profiler starts with the session in onnxruntime-node; a second session on the same bytes records the timed runs.
const profiled = await ort.InferenceSession.create(modelPath, { ...options, enableProfiling: true, profileFilePrefix: prefix });
for (let i = 0; i < 5; i++) await profiled.run(feeds);
const t0 = performance.now();
for (let i = 0; i < runs; i++) await profiled.run(feeds);
const wallMs = (performance.now() - t0) / runs;
profiled.endProfiling();
const file = (await import('node:fs')).readdirSync(tmpdir()).map((f) => join(tmpdir(), f)).find((f) => f.startsWith(prefix));
if (!file) throw new Error(`onnxruntime wrote no profile at ${prefix}*`);
const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
rmSync(file);
// Only the timed runs: the profile also holds the five warm-up runs, which come first.
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const perRun = kernels.length / (runs + 5);
const timed = kernels.slice(Math.round(5 * perRun));
const byOp = new Map<string, number>();
const byNode = new Map<string, { op: string; us: number }>();
for (const e of timed) {
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const node = e.name.replace(/_kernel_time$/, '');
  const n = byNode.get(node) ?? { op, us: 0 };
  n.us += e.dur;
  byNode.set(node, n);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const ms = (us: number) => (us / runs / 1000).toFixed(3);
process.stdout.write(`${modelPath}, batch ${batch}, ${runs} runs: wall ${wallMs.toFixed(3)} ms per run, kernels ${ms(total)} ms, ${perRun} kernel calls per run\n\n`);
const opRows = [...byOp.entries()].sort((a, b) => b[1] - a[1]).map(([op, us]) => [op, String(timed.filter((e) => e.args?.op_name === op).length / runs), ms(us), `${((100 * us) / total).toFixed(1)}%`]);
process.stdout.write(`${formatTable(['op', 'nodes', 'ms per run', 'share'], opRows)}\n\n`);
const nodeRows = [...byNode.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top)).map(([node, n]) => [node, n.op, ms(n.us), `${((100 * n.us) / total).toFixed(1)}%`]);
process.stdout.write(`${formatTable(['node', 'op', 'ms per run', 'share'], nodeRows)}\n`);
await session.release();
await profiled.release();
