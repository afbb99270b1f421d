import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { dependencies } from './captured.js';

/**
 * Removes nodes whose results reach no graph output, then initializers nothing reads. Returns how many of each went.
 * ONNX operators have no side effects, so anything not on a path to an output is dead.
 */
export function removeDeadNodes(graph: Graph): { nodes: number; initializers: number } {
  const live = new Set<Node>();
  const stack = graph.outputs.map((v) => v.producer).filter((n): n is Node => n !== undefined);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n) || n.graph !== graph) continue;
    live.add(n);
    for (const v of dependencies(n)) if (v.producer) stack.push(v.producer);
  }
  const dead = graph.nodes.filter((n) => !live.has(n));
  graph.removeNodes(dead);
  graph.forget(dead.flatMap((n) => n.outputs.filter((v): v is Value => v !== null)));
  const unused = graph.initializers.filter((v) => v.uses.length === 0 && !graph.outputs.includes(v) && !graph.inputs.includes(v));
  for (const v of unused) graph.removeInitializer(v);
  return { nodes: dead.length, initializers: unused.length };
}
