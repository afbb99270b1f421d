import type { Graph } from '../ir/graph.js';
import { inferShapes, type Shape } from './shapes.js';

/**
 * One Conv's multiply-accumulates per sample: output positions × the product of its weight's dims (C_out × C_in/group
 * × kernel area). Null when a size is unknown (null or NaN).
 */
export function macsOfConv(output: Shape, weightDims: readonly (number | null)[] | undefined): number | null {
  if (!output || output.length < 3 || !weightDims) return null;
  const dims = [...output.slice(2), ...weightDims];
  return dims.every((d): d is number => typeof d === 'number' && Number.isFinite(d)) ? dims.reduce((a, b) => a * b, 1) : null;
}

/**
 * The Conv MACs per sample of `graph` fed samples of `sampleShape` on `inputName` (static propagation), or null when a
 * convolution's output or weight size cannot be propagated.
 */
export function convMacsPerSample(graph: Graph, inputName: string, sampleShape: readonly number[]): number | null {
  const shapes = inferShapes(graph, 1, { dims: new Map([[inputName, [null, ...sampleShape]]]), values: new Map() });
  let total = 0;
  for (const node of graph.nodes) {
    if (!(node.isOnnxDomain && node.opType === 'Conv')) continue;
    const [, w] = node.inputs;
    const macs = macsOfConv(node.outputs[0] ? shapes.get(node.outputs[0]) : undefined, w?.initializer?.dims ?? (w ? shapes.get(w) : undefined));
    if (macs === null) return null;
    total += macs;
  }
  return total;
}
