import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, type Model } from '../src/index.js';
import { encodeModel } from '../src/onnx/save.js';

/**
 * Whether onnxruntime runs the same kernels for two models: the graphs it keeps after its optimizations (saved with
 * `optimizedModelFilePath`, with the session options of the main job's Runner) hold the same nodes, compared as a
 * multiset of op, domain, attributes and constant-input shapes (the order of independent branches may differ). Two
 * such models differ in time only by noise: the evidence when a timing says 1.05× for a model that cannot be slower.
 */
export async function sameOptimizedGraph(a: Model, b: Model, threads: number): Promise<boolean> {
  const [x, y] = await Promise.all([optimizedNodes(a, threads), optimizedNodes(b, threads)]);
  return x.length === y.length && x.every((s, i) => s === y[i]);
}

async function optimizedNodes(model: Model, threads: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-optimized-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 4, optimizedModelFilePath: path });
    await session.release();
    const g = loadModel(path).graph;
    return g.nodes
      .map((n) => JSON.stringify([n.opType, n.domain, n.attributes.map((at) => [at.name, String(at.value)]).sort(), n.inputs.map((v) => v?.initializer?.dims ?? null)]))
      .sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
