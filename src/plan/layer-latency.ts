import { availableParallelism } from 'node:os';
import { inferShapes } from '../analysis/shapes.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import { applyRules } from '../rewrite/driver.js';
import type { AnyRule } from '../rewrite/rule.js';
import { timeInterleaved, type LatencyAtBatch } from '../runtime/latency.js';
import { layerAlone } from './layer-alone.js';

/** One layer alone against its rewrite, on onnxruntime: `originalMs` is the layer's, `compressedMs` the rewrite's. */
export interface LayerLatency {
  layer: string;
  /** At batch 1, then at the larger batch when one was asked for (one entry when the model's input fixes its batch
   * size). */
  timings: LatencyAtBatch[];
}

/** A layer that could not be timed, and why (its rewrite is then judged without a measurement). */
export interface LayerNotTimed {
  layer: string;
  skipped: string;
}

export interface LayerLatencyOptions {
  /** The larger batch size (default: batch 1 only). */
  batchSize?: number;
  /** Each model is timed until its runs add up to this many seconds at each batch size (default LAYER_SECONDS), with
   * at most 1000 runs. */
  seconds?: number;
  threads?: number;
  /**
   * Ratios the caller judges by (e.g. 1 + LATENCY_NOISE): a layer whose first timing at some batch size lands within
   * EDGE_BAND of one is timed again for four times as long, and that timing is kept, so that a verdict near an edge
   * rests on more runs.
   */
  edges?: readonly number[];
}

/** How near an edge a first timing must land to be timed again. */
export const EDGE_BAND = 0.1;

/** How long each model of a pair is timed by default, per batch size: see bench/latency.md for what it costs. */
export const LAYER_SECONDS = 0.05;

/**
 * Times each of `layers` cut out alone (its input the graph input) against the same cut rewritten by `rule` at
 * `ruleOptions`, in the form the job emits (the rule's finalize run), at batch 1 and at `batchSize`, interleaved
 * (`timeInterleaved`). The weights are the rule's data-free start: a fit changes values, not the time.
 */
export async function timeLayerRewrites(model: Model, rule: AnyRule, layers: readonly string[], ruleOptions: Record<string, unknown>, options: LayerLatencyOptions = {}): Promise<(LayerLatency | LayerNotTimed)[]> {
  const shapes = inferShapes(model.graph, 1);
  const fixed = model.graph.inputs[0]?.shape?.[0];
  const batches = typeof fixed === 'number' ? [fixed] : [...new Set([1, options.batchSize ?? 1])];
  const seconds = options.seconds ?? LAYER_SECONDS;
  const threads = options.threads ?? availableParallelism();
  const out: (LayerLatency | LayerNotTimed)[] = [];
  for (const layer of layers) {
    const node = model.graph.nodes.find((n) => nodeKey(n) === layer);
    const shape = node?.inputs[0] && shapes.get(node.inputs[0]);
    if (!shape?.every((d): d is number => typeof d === 'number')) {
      out.push({ layer, skipped: 'its input shape is not known before running the model' });
      continue;
    }
    const sample = shape.slice(1);
    const alone = layerAlone(model, layer, sample);
    const rewritten = applyRules(alone, [rule], { options: { [rule.name]: ruleOptions }, finalize: true });
    const record = rewritten.records.find((r) => r.node === layer);
    if (record?.status !== 'fired') {
      out.push({ layer, skipped: `the rule does not rewrite the layer cut out alone${record?.reason ? `: ${record.reason}` : ''}` });
      continue;
    }
    const perSample = sample.reduce((a, b) => a * b, 1);
    const inputs = batches.map((n) => ({ data: Float32Array.from({ length: n * perSample }, (_, i) => Math.sin(i)), dims: [n, ...sample] }));
    const time = (budget: number) => timeInterleaved(alone, rewritten.model, alone.graph.inputs[0].name, inputs, { threads, seconds: budget, maxRuns: 1000 * (budget / seconds) });
    const first = await time(seconds);
    const nearEdge = first.some((b) => (options.edges ?? []).some((e) => Math.abs(b.ratio - e) <= EDGE_BAND));
    out.push({ layer, timings: nearEdge ? await time(4 * seconds) : first });
  }
  return out;
}
