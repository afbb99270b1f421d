import { cpus } from 'node:os';
import { formatTable } from '../src/report/table.js';
import { inferShapes } from '../src/analysis/shapes.js';
import { cloneModel, DataType, applyRules, loadModel, type Model } from '../src/index.js';
import { timeInterleaved } from '../src/runtime/latency.js';
import { nodeKey } from '../src/ir/node.js';
import { ftm } from '../rewrites/index.js';

/**
 * `node dist/bench/latency-layers.js MODEL [S]`: each Conv of MODEL alone (its input made the graph input, batch 1)
 * against its FTM rewrite (folded form) on onnxruntime: what a per-layer latency check in the planner would measure.
 */
const [path, sArg] = process.argv.slice(2);
const model = loadModel(path);
const s = Number(sArg ?? 2);
const shapes = inferShapes(model.graph, 1);
const threads = cpus().length;
const rows: string[][] = [];
for (const conv of model.graph.nodes.filter((n) => n.opType === 'Conv')) {
  const key = nodeKey(conv);
  const shape = shapes.get(conv.inputs[0]!);
  if (!shape?.every((d): d is number => typeof d === 'number')) continue;
  const alone = layerAlone(model, key, shape);
  const rewritten = applyRules(alone, [ftm], { options: { ftm: { includeFirst: true, s } }, finalize: true });
  if (!rewritten.records.some((r) => r.status === 'fired')) continue;
  const folded = rewritten.model;
  const input = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)), dims: shape };
  const [t] = await timeInterleaved(alone, folded, alone.graph.inputs[0].name, [input], { threads, seconds: 1, maxRuns: 2000 });
  rows.push([key, shape.join('×'), t.originalMs.toFixed(4), t.compressedMs.toFixed(4), t.ratio.toFixed(2), folded.graph.nodes.map((n) => n.opType).join(' ')]);
}
process.stdout.write(`FTM s=${s}, batch 1, ${threads} threads, median ms per run, interleaved\n\n`);
process.stdout.write(`${formatTable(['layer', 'input', 'conv ms', 'ftm ms', 'ftm / conv', 'ftm nodes'], rows)}\n`);

/** A copy of `model` holding only the Conv `key`: its input becomes the graph input, its output the graph output. */
function layerAlone(model: Model, key: string, shape: number[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const conv = g.nodes.find((n) => nodeKey(n) === key)!;
  g.removeNodes(g.nodes.filter((n) => n !== conv));
  const x = conv.inputs[0]!;
  x.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: shape.map((value) => ({ value })) };
  g.inputs = [x];
  g.outputs = [conv.outputs[0]!];
  for (const v of [...g.initializers]) if (!v.uses.length) g.removeInitializer(v);
  return copy;
}
