import type { Graph } from '../ir/graph.js';
import { isFloatType } from '../ir/dtype.js';

/** Parameters of a model: elements of its floating-point initializers (what `--target-ratio` counts). */
export function countParams(graph: Graph): number {
  let n = 0;
  for (const v of graph.initializers) if (isFloatType(v.initializer!.dataType)) n += v.initializer!.size;
  return n;
}
