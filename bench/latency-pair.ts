import { cpus } from 'node:os';
import { formatTable } from '../src/report/table.js';
import { loadModel } from '../src/index.js';
import { compareLatency } from './latency.js';

/**
 * `node dist/bench/latency-pair.js ORIGINAL COMPRESSED [BATCH...]`: onnxruntime latency of a model and its compressed
 * form (e.g. the main job's output), as a table for bench/latency.md.
 */
const [originalPath, compressedPath, ...batchArgs] = process.argv.slice(2);
if (!compressedPath) throw new Error('usage: latency-pair ORIGINAL COMPRESSED [BATCH...]');
const original = loadModel(originalPath);
const sampleShape = original.graph.inputs[0].shape?.slice(1);
if (!sampleShape?.every((d): d is number => typeof d === 'number')) throw new Error(`expected fixed sample dims, found ${JSON.stringify(sampleShape)}`);
const batches = batchArgs.length ? batchArgs.map(Number) : [1, 32];
const threads = cpus().length;
const rows = await compareLatency(original, loadModel(compressedPath), sampleShape, batches, threads);
process.stdout.write(`${threads} threads, median ms per run, interleaved\n\n`);
process.stdout.write(`${formatTable(['batch', 'original ms', 'compressed ms', 'compressed / original'], rows.map((r) => [String(r.batch), r.a.toFixed(3), r.b.toFixed(3), (r.b / r.a).toFixed(2)]))}\n`);
