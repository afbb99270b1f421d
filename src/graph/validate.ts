import { ftmError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';

/**
 * Structural checks a rewrite must never break: every input defined before use, one producer per value name, unique
 * node names, graph outputs defined. Returns the problems found (empty when valid); subgraphs are checked too.
 */
export function validateGraph(graph: Graph): string[] {
  const problems: string[] = [];
  checkGraph(graph, new Set(), problems, new Set(), new Set());
  return problems;
}

export function assertValid(graph: Graph, what = 'graph'): void {
  const problems = validateGraph(graph);
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw ftmError('E_GRAPH_INVALID', `${what} is not valid: ${problems.slice(0, 5).join('; ')}${more}`);
  }
}

function checkGraph(graph: Graph, outer: Set<Value>, problems: string[], valueNames: Set<string>, nodeNames: Set<string>): void {
  const defined = new Set(outer);
  const define = (v: Value, by: string) => {
    if (valueNames.has(v.name)) problems.push(`value "${v.name}" is defined more than once (again by ${by})`);
    valueNames.add(v.name);
    defined.add(v);
  };
  for (const v of graph.inputs) define(v, 'a graph input');
  for (const v of graph.initializers) if (!defined.has(v)) define(v, 'an initializer');
  for (const node of graph.nodes) {
    node.inputs.forEach((v, i) => {
      if (v && !defined.has(v)) problems.push(`${node.label} input ${i} "${v.name}" is not defined before it is used`);
    });
    if (node.name) {
      if (nodeNames.has(node.name)) problems.push(`node name "${node.name}" is used more than once`);
      nodeNames.add(node.name);
    }
    for (const sub of node.subgraphs()) checkGraph(sub, defined, problems, valueNames, nodeNames);
    for (const v of node.outputs) {
      if (!v) continue;
      if (v.producer !== node) problems.push(`${node.label} output "${v.name}" is also produced by ${v.producer?.label ?? 'nothing'}`);
      define(v, node.label);
    }
  }
  for (const v of graph.outputs) if (!defined.has(v)) problems.push(`graph output "${v.name}" is not produced`);
}
