import { ftmError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { dependencies } from './captured.js';

/**
 * Orders the nodes so every node comes after the producers of what it reads. Depth-first from each node in its current
 * order, so an already sorted graph keeps its order; linear in nodes plus edges; iterative, so deep chains are fine.
 */
export function toposort(graph: Graph): void {
  const state = new Map<Node, 'visiting' | 'done'>();
  const order: Node[] = [];
  const local = new Set(graph.nodes);
  const producersOf = (n: Node) =>
    dependencies(n)
      .map((v) => v.producer)
      .filter((p): p is Node => p !== undefined && local.has(p));
  for (const root of graph.nodes) {
    if (state.has(root)) continue;
    const stack: { node: Node; deps: Node[]; next: number }[] = [{ node: root, deps: producersOf(root), next: 0 }];
    state.set(root, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next < top.deps.length) {
        const dep = top.deps[top.next++];
        const s = state.get(dep);
        if (s === 'visiting') throw cycleError(stack.map((f) => f.node), dep);
        if (s === undefined) {
          state.set(dep, 'visiting');
          stack.push({ node: dep, deps: producersOf(dep), next: 0 });
        }
      } else {
        state.set(top.node, 'done');
        order.push(top.node);
        stack.pop();
      }
    }
  }
  graph.nodes = order;
}

function cycleError(path: Node[], back: Node): Error {
  const cycle = path.slice(path.indexOf(back)).map((n) => n.label);
  return ftmError('E_GRAPH_CYCLE', `expected an acyclic graph, found a cycle: ${[...cycle, back.label].join(' -> ')}`);
}
