import { countParams } from '../analysis/params.js';
import { ftmError } from '../errors.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import { toposort } from '../graph/toposort.js';
import { validateGraph } from '../graph/validate.js';
import { onnxOpset, type Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { encodeModel } from '../onnx/save.js';
import { loadModel } from '../onnx/load.js';
import { Builder } from './builder.js';
import { isNoMatch, type AnyRule, type LayerStats, type MatchBase, type Params, type Proposal, type RuleContext } from './rule.js';

export interface ApplyOptions {
  /** Names of the nodes to rewrite (node name, or output name for unnamed nodes); default: every node. */
  layers?: string[];
  /** Options per rule name; unset options take the rule's defaults. */
  options?: Record<string, Record<string, unknown>>;
  /** Calibration statistics per node name (e.g. the profiler's channel groups). */
  stats?: Record<string, LayerStats>;
}

export type RewriteStatus = 'fired' | 'declined' | 'refused';

/** What a rule did at a node, and why not when it did not. */
export interface RewriteRecord {
  rule: string;
  node: string;
  status: RewriteStatus;
  reason?: string;
  /** For fired rewrites: the new weights by role, and the nodes that replaced the match. */
  params?: Params;
  newNodes?: string[];
}

export interface ApplyResult {
  model: Model;
  records: RewriteRecord[];
  paramsBefore: number;
  paramsAfter: number;
}

export const nodeKey = (n: Node): string => n.name || n.outputs[0]?.name || n.opType;

/**
 * Applies rules to a copy of the model (the caller's model is never changed). For each rule, each node of the ops it
 * looks at (or of `layers`) is matched; the driver refuses matches whose constants are not constant or are shared
 * outside the match, commits the proposals, and leaves a sorted, valid graph without dead nodes.
 */
export function applyRules(model: Model, rules: AnyRule[], options: ApplyOptions = {}): ApplyResult {
  const copy = loadModel(encodeModel(model));
  copy.path = model.path;
  const graph = copy.graph;
  const records: RewriteRecord[] = [];
  const paramsBefore = countParams(graph);
  const wanted = options.layers && new Set(options.layers);
  if (wanted) checkLayersExist(copy, wanted);
  for (const rule of rules) {
    const ruleOptions = resolveOptions(rule, options.options?.[rule.name] ?? {});
    const targets = graph.nodes.filter((n) => (wanted ? wanted.has(nodeKey(n)) : n.isOnnxDomain && rule.meta.ops.includes(n.opType)));
    for (const node of targets) {
      if (node.graph !== graph) continue; // consumed by an earlier rewrite
      const ctx: RuleContext<Record<string, unknown>> = { model: copy, graph, options: ruleOptions, stats: options.stats?.[nodeKey(node)] };
      records.push(applyAt(rule, node, ctx));
    }
  }
  removeDeadNodes(graph);
  toposort(graph);
  return { model: copy, records, paramsBefore, paramsAfter: countParams(graph) };
}

function applyAt(rule: AnyRule, node: Node, ctx: RuleContext<Record<string, unknown>>): RewriteRecord {
  const record = { rule: rule.name, node: nodeKey(node) };
  const opset = onnxOpset(ctx.model) ?? 0;
  if (!node.isOnnxDomain || !rule.meta.ops.includes(node.opType)) {
    return { ...record, status: 'declined', reason: `${rule.name} rewrites ${rule.meta.ops.join('/')} nodes, this is ${node.opType}` };
  }
  if (rule.meta.minOpset && opset < rule.meta.minOpset) {
    return { ...record, status: 'refused', reason: `needs opset ≥ ${rule.meta.minOpset}, the model imports opset ${opset}` };
  }
  const match = rule.match(node, ctx);
  if (isNoMatch(match)) return { ...record, status: 'declined', reason: match.noMatch };
  const refusal = checkConstants(match);
  if (refusal) return { ...record, status: 'refused', reason: refusal };
  const b = new Builder(ctx.graph, `${record.node}/${rule.name}`);
  const proposal = rule.rewrite(match, b, ctx);
  rule.init?.(match, b.params, ctx);
  commit(ctx, match, b, proposal.replace);
  toposort(ctx.graph);
  const problems = validateGraph(ctx.graph);
  if (problems.length) throw ftmError('E_RULE', `rule "${rule.name}" produced an invalid graph: ${problems.slice(0, 3).join('; ')}`, record.node);
  return { ...record, status: 'fired', params: b.params, newNodes: b.nodes.map((n) => n.name!) };
}

function checkConstants(match: MatchBase): string | undefined {
  const inside = new Set(match.nodes);
  for (const v of match.constants) {
    if (!v.initializer) return `"${v.name}" is not a constant: it is computed by ${v.producer?.label ?? 'a graph input'}`;
    if (!v.isConstant) return `"${v.name}" is an initializer that is also a graph input, so callers may override it`;
    const outside = v.uses.find((u) => !inside.has(u.node));
    if (outside) return `"${v.name}" is shared with ${outside.node.label}, outside the match`;
  }
  return undefined;
}

function commit(ctx: RuleContext<Record<string, unknown>>, match: MatchBase, b: Builder, replace: Proposal['replace']): void {
  const g = ctx.graph;
  g.insertNodes(b.nodes);
  g.initializers.push(...b.constants);
  for (const [old, replacement] of replace) {
    replacement.type ??= old.type && { ...old.type };
    g.replaceAllUses(old, replacement);
  }
  g.removeNodes(match.nodes);
}

function resolveOptions(rule: AnyRule, given: Record<string, unknown>): Record<string, unknown> {
  const specs = rule.meta.options as Record<string, { type: string; default: unknown }>;
  for (const [key, value] of Object.entries(given)) {
    const spec = specs[key];
    if (!spec) throw ftmError('E_USAGE', `rule "${rule.name}" has no option "${key}" (options: ${Object.keys(specs).join(', ') || 'none'})`);
    if (typeof value !== spec.type) throw ftmError('E_USAGE', `rule "${rule.name}" option "${key}" expects a ${spec.type}, found ${JSON.stringify(value)}`);
  }
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, k in given ? given[k] : s.default]));
}

function checkLayersExist(model: Model, wanted: Set<string>): void {
  const keys = new Set(model.graph.nodes.map(nodeKey));
  const missing = [...wanted].filter((l) => !keys.has(l));
  if (missing.length) {
    throw ftmError('E_USAGE', `no node named ${missing.map((m) => `"${m}"`).join(', ')} in the model (run inspect to list the layers)`);
  }
}
