import { countParams } from '../analysis/params.js';
import { ftmError } from '../errors.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import { toposort } from '../graph/toposort.js';
import { validateGraph } from '../graph/validate.js';
import { cloneModel } from '../ir/clone.js';
import { isFloatType } from '../ir/dtype.js';
import { onnxOpset, type Model } from '../ir/model.js';
import { nodeKey, type Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Builder } from './builder.js';
import { resolveOptions } from './options.js';
import { isNoMatch, type AnyRule, type FitPlan, type LayerStats, type MatchBase, type Params, type Proposal, type RuleContext } from './rule.js';

export interface ApplyOptions {
  /** Names of the nodes to rewrite (node name, or output name for unnamed nodes); default: every node. */
  layers?: string[];
  /** Options per rule name; unset options take the rule's defaults. */
  options?: Record<string, Record<string, unknown>>;
  /** A mixed plan: for each node to rewrite (by key), the rule that rewrites it and that layer's own options (over the
   * rule's `options`). Takes the place of `layers`: nodes not listed are not rewritten. */
  assignments?: Record<string, LayerAssignment>;
  /** Calibration statistics per node name (e.g. the profiler's channel groups). */
  stats?: Record<string, LayerStats>;
  /**
   * Also run the `meta.finalize` rules of the rules that fired (FTM: fold its channel reorders), and count `paramsAfter`
   * on the finalized model. For a result nothing is fitted on: fitting needs each rewrite's own outputs, so the records
   * then carry no fit plans (a caller that fits calls finalizeRules after fitting), and their `params` are the weights
   * as the rule set them, before the clean-ups folded anything into them.
   */
  finalize?: boolean;
}

/** Which rule rewrites a layer, and with what options of its own. */
export interface LayerAssignment {
  rule: string;
  options?: Record<string, unknown>;
}

/** fired: rewritten; declined: the rule does not apply (reason); refused: the driver would not apply it (reason);
 * skipped: an earlier rewrite already replaced the node. */
export type RewriteStatus = 'fired' | 'declined' | 'refused' | 'skipped';

/** What a rule did at a node, and why not when it did not. */
export interface RewriteRecord {
  rule: string;
  node: string;
  status: RewriteStatus;
  reason?: string;
  /** For fired rewrites: the new weights by role, and the nodes that replaced the match. */
  params?: Params;
  newNodes?: string[];
  /** For fired rewrites whose rule can fit its weights to data: one plan per fitted layer (src/fit runs them). */
  fit?: FitPlan[];
}

export interface ApplyResult {
  model: Model;
  records: RewriteRecord[];
  paramsBefore: number;
  paramsAfter: number;
}

/**
 * Applies rules to a copy of the model (the caller's model is never changed). For each rule, each node of the ops it
 * looks at (or of `layers`) is matched; the driver refuses matches whose constants are not constant or are shared
 * outside the match, commits the proposals, and leaves a sorted, valid graph without dead nodes.
 */
export function applyRules(model: Model, rules: AnyRule[], options: ApplyOptions = {}): ApplyResult {
  const copy = cloneModel(model);
  const graph = copy.graph;
  const records: RewriteRecord[] = [];
  const paramsBefore = countParams(graph);
  const assigned = options.assignments;
  const wanted = assigned ? new Set(Object.keys(assigned)) : options.layers && new Set(options.layers);
  if (wanted) checkLayersExist(copy, wanted);
  const resolved = resolveAllOptions(rules, options.options ?? {});
  if (assigned) checkAssignedRules(assigned, rules);
  const consumedBy = new Map<Node, string>();
  const replacedBy = new Map<Value, Value>();
  for (const [i, rule] of rules.entries()) {
    const ruleOptions = resolved[i];
    const targets = graph.nodes.filter((n) =>
      assigned ? assigned[nodeKey(n)]?.rule === rule.name : wanted ? wanted.has(nodeKey(n)) : n.isOnnxDomain && rule.meta.ops.includes(n.opType),
    );
    for (const node of targets) {
      const by = consumedBy.get(node);
      if (by) {
        records.push({ rule: rule.name, node: nodeKey(node), status: 'skipped', reason: `already replaced by the rewrite at ${by}` });
        continue;
      }
      const own = assigned?.[nodeKey(node)]?.options;
      const layerOptions = own ? resolveOptions(rule, { ...options.options?.[rule.name], ...own }) : ruleOptions;
      const ctx: RuleContext<Record<string, unknown>> = { model: copy, graph, options: layerOptions, stats: options.stats?.[nodeKey(node)] };
      const { record, consumed } = applyAt(rule, node, ctx, replacedBy);
      for (const n of consumed) consumedBy.set(n, `${record.node} (${rule.name})`);
      records.push(record);
    }
  }
  // A later rewrite may have replaced the value an earlier rewrite's fitted layer reads: follow it to what feeds the layer now.
  for (const plan of records.flatMap((r) => r.fit ?? [])) {
    for (let next = replacedBy.get(plan.input); next; next = replacedBy.get(next)) plan.input = next;
  }
  removeDeadNodes(graph);
  toposort(graph);
  if (!options.finalize) return { model: copy, records, paramsBefore, paramsAfter: countParams(graph) };
  const fired = rules.filter((r) => records.some((x) => x.rule === r.name && x.status === 'fired'));
  const finalized = finalizeRules(copy, fired);
  return { model: finalized.model, records: records.map(({ fit: _, ...r }) => r), paramsBefore, paramsAfter: finalized.paramsAfter };
}

/**
 * Runs the clean-up rules the given rules name in `meta.finalize` (each once, in order), on a copy of a model whose
 * rewrites are final (after fitting): what the emitted model holds, and its parameter count.
 */
export function finalizeRules(model: Model, rules: AnyRule[]): ApplyResult {
  return applyRules(model, [...new Set(rules.flatMap((r) => r.meta.finalize ?? []))]);
}

function applyAt(rule: AnyRule, node: Node, ctx: RuleContext<Record<string, unknown>>, replacedBy: Map<Value, Value>): { record: RewriteRecord; consumed: Node[] } {
  const base = { rule: rule.name, node: nodeKey(node) };
  const no = (status: RewriteStatus, reason: string) => ({ record: { ...base, status, reason }, consumed: [] });
  const opset = onnxOpset(ctx.model) ?? 0;
  if (!node.isOnnxDomain || !rule.meta.ops.includes(node.opType)) {
    return no('declined', `${rule.name} rewrites ${rule.meta.ops.join('/')} nodes, this is ${node.opType}`);
  }
  if (rule.meta.minOpset && opset < rule.meta.minOpset) {
    return no('refused', `needs opset ≥ ${rule.meta.minOpset}, the model imports opset ${opset}`);
  }
  const match = rule.match(node, ctx);
  if (isNoMatch(match)) return no('declined', match.noMatch);
  const refusal = checkConstants(match);
  if (refusal) return no('refused', refusal);
  const b = new Builder(ctx.graph, `${base.node}/${rule.name}`);
  const proposal = rule.rewrite(match, b, ctx);
  rule.init?.(match, b.params, ctx);
  commit(ctx, match, b, proposal.replace);
  for (const [old, replacement] of proposal.replace) replacedBy.set(old, replacement);
  toposort(ctx.graph);
  const problems = validateGraph(ctx.graph);
  if (problems.length) throw ftmError('E_RULE', `rule "${rule.name}" produced an invalid graph: ${problems.slice(0, 3).join('; ')}`, base.node);
  const fit = proposal.fit === undefined ? [] : [proposal.fit].flat();
  const record: RewriteRecord = { ...base, status: 'fired', params: b.params, newNodes: b.nodes.map((n) => n.name!), ...(fit.length ? { fit } : {}) };
  return { record, consumed: match.nodes };
}

/** What rewriting one node would do, without changing the model: whether the rule fires, and the parameters it would
 * remove (the matched constants) and add (the proposal's new weights and constants). */
export interface DryRun {
  node: string;
  fires: boolean;
  reason?: string;
  removed: number;
  added: number;
  /** The other nodes the match takes with it (prune: the consumers whose inputs shrink), by key: no rule can rewrite
   * them once this one has fired. */
  consumes: string[];
}

export function dryRun(model: Model, rule: AnyRule, node: Node, options: Record<string, unknown> = {}, stats?: LayerStats): DryRun {
  const ctx: RuleContext<Record<string, unknown>> = { model, graph: model.graph, options: resolveOptions(rule, options), stats };
  const key = nodeKey(node);
  if (!node.isOnnxDomain || !rule.meta.ops.includes(node.opType)) return { node: key, fires: false, reason: `not a ${rule.meta.ops.join('/')} node`, removed: 0, added: 0, consumes: [] };
  const match = rule.match(node, ctx);
  if (isNoMatch(match)) return { node: key, fires: false, reason: match.noMatch, removed: 0, added: 0, consumes: [] };
  const refusal = checkConstants(match);
  if (refusal) return { node: key, fires: false, reason: refusal, removed: 0, added: 0, consumes: [] };
  const b = new Builder(ctx.graph, `${key}/${rule.name}`);
  rule.rewrite(match, b, ctx);
  const floats = (vs: Value[]) => vs.reduce((n, v) => n + (isFloatType(v.initializer!.dataType) ? v.initializer!.size : 0), 0);
  const consumes = match.nodes.filter((n: Node) => n !== node).map(nodeKey);
  const result = { node: key, fires: true, removed: floats(match.constants), added: floats(b.constants), consumes };
  b.discard();
  return result;
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
  // their outputs now have no producer and no uses: drop them (and stale value_info shapes) from the graph
  g.forget(match.nodes.flatMap((n) => n.outputs.filter((v): v is Value => v !== null)));
}

/** Every rule's options checked before the first match; options for a rule that is not applied are a usage error too. */
function resolveAllOptions(rules: AnyRule[], given: Record<string, Record<string, unknown>>): Record<string, unknown>[] {
  const names = new Set(rules.map((r) => r.name));
  const stray = Object.keys(given).filter((n) => !names.has(n));
  if (stray.length) throw ftmError('E_USAGE', `options given for rule ${stray.map((n) => `"${n}"`).join(', ')}, which is not applied (rules: ${[...names].join(', ') || 'none'})`);
  return rules.map((rule) => resolveOptions(rule, given[rule.name] ?? {}));
}

function checkAssignedRules(assigned: Record<string, LayerAssignment>, rules: AnyRule[]): void {
  const names = new Set(rules.map((r) => r.name));
  const stray = Object.entries(assigned).filter(([, a]) => !names.has(a.rule));
  if (stray.length) {
    const [layer, { rule }] = stray[0];
    throw ftmError('E_USAGE', `layer "${layer}" is assigned to rule "${rule}", which is not applied (rules: ${[...names].join(', ') || 'none'})`);
  }
}

function checkLayersExist(model: Model, wanted: Set<string>): void {
  const keys = new Set(model.graph.nodes.map(nodeKey));
  const missing = [...wanted].filter((l) => !keys.has(l));
  if (missing.length) {
    throw ftmError('E_USAGE', `no node named ${missing.map((m) => `"${m}"`).join(', ')} in the model (run inspect to list the layers)`);
  }
}
