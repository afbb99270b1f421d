import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { ruleFor } from './rules/index.js';
import type { GradInfo } from './types.js';

/** Which trainables can get a gradient, and which forward values the backward pass must differentiate. */
export interface PathAnalysis {
  /** The trainables whose every path to the loss crosses only nodes with a rule, in the order given. */
  live: Value[];
  /** The others, with why. */
  frozen: Map<Value, string>;
  /** Values on a path from a live trainable to the loss: the ones whose gradient is built. */
  active: Set<Value>;
}

/** Input slots a gradient can flow through: a rule's own list, or every slot of a node without a rule. */
function gradientSlots(node: Node): number[] {
  const all = node.inputs.map((_, i) => i);
  return ruleFor(node)?.inputs?.filter((i) => i < all.length) ?? all;
}

/** Why a node stops gradients (no rule, or a configuration its rule does not cover), or undefined. */
function blockedBecause(node: Node, info: GradInfo): string | undefined {
  const rule = ruleFor(node);
  if (!rule) return `${node.isOnnxDomain ? node.label : `${node.domain}.${node.label}`}, which has no gradient rule`;
  let why: string | undefined;
  try {
    why = rule.check?.(node, info);
  } catch (e) {
    // A node the rule cannot even read (an attribute of the wrong type, say) blocks like one it does not cover.
    why = e instanceof Error ? e.message : String(e);
  }
  return why === undefined ? undefined : `${node.label} (${why})`;
}

/**
 * A trainable gets a gradient only if every path from it to the loss crosses nodes the engine can differentiate: a
 * gradient that silently missed one path would be wrong, not partial. So a trainable is frozen as soon as one of its
 * paths crosses a blocked node, and the reason names those nodes. Paths run through gradient-carrying input slots only
 * (a trainable read by a Shape node is not blocked by it). The graph's nodes must be in topological order.
 */
export function analyzePaths(graph: Graph, loss: Value, trainables: readonly Value[], info: GradInfo): PathAnalysis {
  const nodes = graph.nodes;
  // Backwards from the loss: which values reach it, and which blocked nodes lie between each value and the loss.
  const reaches = new Set<Value>([loss]);
  const blockers = new Map<Value, Set<string>>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const outs = node.outputs.filter((v): v is Value => !!v && reaches.has(v));
    if (!outs.length) continue;
    const ahead = new Set(outs.flatMap((v) => [...(blockers.get(v) ?? [])]));
    const why = blockedBecause(node, info);
    if (why) ahead.add(why);
    for (const slot of gradientSlots(node)) {
      const v = node.inputs[slot];
      if (!v) continue;
      reaches.add(v);
      if (ahead.size) blockers.set(v, new Set([...(blockers.get(v) ?? []), ...ahead]));
    }
  }

  const live: Value[] = [];
  const frozen = new Map<Value, string>();
  for (const t of trainables) {
    const ahead = [...(blockers.get(t) ?? [])];
    if (!reaches.has(t)) frozen.set(t, 'no path leads from it to the loss through inputs that carry gradients');
    else if (ahead.length) frozen.set(t, `the path to the loss crosses ${ahead.slice(0, 3).join('; ')}${ahead.length > 3 ? ` and ${ahead.length - 3} more` : ''}`);
    else live.push(t);
  }

  // Forwards from the live trainables, kept where the value also reaches the loss.
  const reached = new Set<Value>(live);
  for (const node of nodes) {
    if (!gradientSlots(node).some((slot) => reached.has(node.inputs[slot]!))) continue;
    for (const v of node.outputs) if (v) reached.add(v);
  }
  return { live, frozen, active: new Set([...reached].filter((v) => reaches.has(v))) };
}
