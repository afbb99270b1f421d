import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';

/** Values of enclosing scopes that a node's subgraphs read: dependencies as real as its inputs. */
export function capturedValues(node: Node): Value[] {
  const out = new Set<Value>();
  const visit = (g: Graph, inside: Set<Graph>) => {
    inside.add(g);
    for (const n of g.nodes) {
      for (const v of n.inputs) if (v && !inside.has(v.graph)) out.add(v);
      for (const sub of n.subgraphs()) visit(sub, new Set(inside));
    }
    for (const v of g.outputs) if (!inside.has(v.graph)) out.add(v);
  };
  for (const sub of node.subgraphs()) visit(sub, new Set());
  return [...out];
}

/** Everything a node reads: its inputs and the values its subgraphs capture. */
export function dependencies(node: Node): Value[] {
  const explicit = node.inputs.filter((v): v is Value => v !== null);
  return node.subgraphs().length ? [...explicit, ...capturedValues(node)] : explicit;
}
