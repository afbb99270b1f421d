import { cpus } from 'node:os';
import { formatTable } from '../src/report/table.js';
import { loadModel } from '../src/index.js';
import { timeLayerRewrites } from '../src/plan/layer-latency.js';
import { ftm } from '../rewrites/index.js';

/**
 * `node dist/bench/latency-layers.js MODEL [S] [BATCH] [SECONDS]`: each Conv of MODEL alone (its input made the graph
 * input) against its FTM rewrite (the rule's default form) on onnxruntime, at batch 1 and BATCH (default 1), SECONDS per model
 * and batch size (default 1): what the planner measures (src/plan/layer-latency.ts), with a longer budget.
 */
const [path, sArg, batchArg, secondsArg] = process.argv.slice(2);
const model = loadModel(path);
const s = Number(sArg ?? 2);
const threads = cpus().length;
const convs = model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.name ?? n.outputs[0]!.name);
const t0 = performance.now();
const timed = await timeLayerRewrites(model, ftm, convs, { includeFirst: true, s }, { threads, batchSize: Number(batchArg ?? 1), seconds: Number(secondsArg ?? 1) });
const seconds = (performance.now() - t0) / 1000;
const rows = timed.map((t) =>
  'skipped' in t ? [t.layer, t.skipped] : [t.layer, ...t.timings.flatMap((b) => [`${b.originalMs.toFixed(4)} → ${b.compressedMs.toFixed(4)}`, b.ratio.toFixed(2)])],
);
const batches = timed.find((t) => 'timings' in t && t.timings.length) as { timings: { batch: number }[] } | undefined;
const header = ['layer', ...(batches?.timings ?? []).flatMap((b) => [`batch ${b.batch} conv → ftm ms`, 'ftm / conv'])];
process.stdout.write(`FTM s=${s}, ${threads} threads, median ms per run, interleaved; ${seconds.toFixed(1)} s in all\n\n`);
process.stdout.write(`${formatTable(header, rows)}\n`);
