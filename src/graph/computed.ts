import type { Graph } from '../ir/graph.js';

/** Whether the graph has a value of that name that a node computes or a graph input supplies (not an initializer). */
export function isComputed(graph: Graph, name: string): boolean {
  const v = graph.lookup(name);
  return v !== undefined && (v.producer !== undefined || v.isGraphInput);
}
