import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { RewriteRecord } from '../rewrite/driver.js';

/** A feature term: the student value a rewrite produces and the teacher value it replaces (what it was fitted to). */
export interface FeaturePair {
  /** The rewrite's output in the student. */
  student: string;
  /** The matched layer's output in the teacher (the fit target, before the activation). */
  teacher: string;
}

/**
 * For each fired rewrite with one fitted layer: the value its new nodes hand to the rest of the student (the one output
 * of the new nodes read outside them) and the teacher value it was fitted to. A rewrite whose new nodes are no longer
 * all in the student (a later clean-up folded some away, e.g. FTM's channel reorder) is left out: its output may then
 * be in another channel order than the teacher's.
 */
export function featurePairs(teacher: Model, student: Model, records: readonly RewriteRecord[]): FeaturePair[] {
  const byName = new Map<string, Node>();
  for (const n of student.graph.nodes) if (n.name) byName.set(n.name, n);
  const pairs: FeaturePair[] = [];
  for (const r of records) {
    if (r.status !== 'fired' || r.fit?.length !== 1 || !r.newNodes?.length) continue;
    const nodes = r.newNodes.map((n) => byName.get(n));
    if (nodes.some((n) => !n)) continue;
    const inside = new Set(nodes as Node[]);
    const exits = (nodes as Node[]).flatMap((n) => n.outputs).filter((v) => v && (v.uses.some((u) => !inside.has(u.node)) || student.graph.outputs.includes(v)));
    const target = r.fit[0].target;
    if (exits.length !== 1 || !teacher.graph.lookup(target)) continue;
    pairs.push({ student: exits[0]!.name, teacher: target });
  }
  return pairs;
}
