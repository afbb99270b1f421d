import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/report/table.js';
import { loadModel } from '../src/index.js';
import { compareLatency } from './latency.js';

/**
 * `node dist/bench/latency-pair.js ORIGINAL COMPRESSED [BATCH...] [--sample CxHxW] [--seconds S]`: onnxruntime
 * latency of a model and its compressed form (e.g. the main job's output), as a table for bench/latency.md.
 * `--sample` gives the sample's dims when the model's input has symbolic ones (torchvision exports: height, width).
 */
const { values, positionals } = parseArgs({ allowPositionals: true, options: { sample: { type: 'string' }, seconds: { type: 'string', default: '3' } } });
const [originalPath, compressedPath, ...batchArgs] = positionals;
if (!compressedPath) throw new Error('usage: latency-pair ORIGINAL COMPRESSED [BATCH...] [--sample CxHxW] [--seconds S]');
const original = loadModel(originalPath);
const sampleShape = values.sample ? values.sample.split('x').map(Number) : original.graph.inputs[0].shape?.slice(1);
if (!sampleShape?.every((d): d is number => typeof d === 'number' && d > 0)) throw new Error(`expected fixed sample dims (or --sample CxHxW), found ${JSON.stringify(sampleShape)}`);
const batches = batchArgs.length ? batchArgs.map(Number) : [1, 32];
const threads = cpus().length;
const rows = await compareLatency(original, loadModel(compressedPath), sampleShape, batches, threads, Number(values.seconds));
process.stdout.write(`${threads} threads, median ms per run, interleaved\n\n`);
process.stdout.write(`${formatTable(['batch', 'original ms', 'compressed ms', 'compressed / original'], rows.map((r) => [String(r.batch), r.a.toFixed(3), r.b.toFixed(3), (r.b / r.a).toFixed(2)]))}\n`);
