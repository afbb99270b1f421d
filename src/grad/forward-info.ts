import { inferShapes, type KnownShapes } from '../analysis/shapes.js';
import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';
import { missingShapes } from './missing-shapes.js';
import type { GradInfo, StaticShape } from './types.js';

/**
 * Static facts about the forward graph that rules read: shapes and constant inputs. Shapes are inferred once, while
 * the trainables are still initializers (their dims then fix the channels of the layers they feed), completed by
 * `known` (what a run of the model observed, src/runtime/observe-shapes.ts), which also gives the contents of
 * computed shape arithmetic (e.g. the bounds of a channel split) that are constants at the observed input size.
 */
export class ForwardInfo implements GradInfo {
  private shapes: Map<Value, StaticShape>;

  constructor(
    graph: Graph,
    readonly opset: number,
    private readonly known?: KnownShapes,
  ) {
    this.shapes = infer(graph, known);
    // Operators inferShapes does not know get their output shapes declared on the values (of the training graph's own
    // copy), and inference runs again from there: once per such node at most.
    for (let more = true; more; ) {
      more = false;
      for (const node of graph.nodes) {
        if (node.outputs.every((v) => !v || this.shapes.get(v))) continue;
        const found = missingShapes(node, this);
        node.outputs.forEach((v, i) => {
          if (!v || this.shapes.get(v) || !found?.[i]) return;
          v.type = { kind: 'tensor', elemType: v.elemType, shape: found[i]!.map((d) => (d === null ? {} : { value: d })) };
          more = true;
        });
      }
      if (more) this.shapes = infer(graph, known);
    }
  }

  shape(v: Value | null | undefined): StaticShape {
    if (!v) return undefined;
    if (this.shapes.has(v)) return this.shapes.get(v);
    return v.initializer ? [...v.initializer.dims] : undefined;
  }

  constantValues(v: Value | null | undefined): number[] | undefined {
    const t = v?.initializer ?? (v?.producer?.opType === 'Constant' ? v.producer.getTensor('value') : undefined);
    if (!t) return v?.producer ? this.known?.values.get(v.name)?.slice() : undefined;
    if (Array.isArray(t.data)) return undefined;
    return Array.from(t.data as ArrayLike<number | bigint>, Number);
  }
}

/** inferShapes with symbolic dims (the batch) propagated as NaN through the shape arithmetic, so they come out unknown. */
function infer(graph: Graph, known: KnownShapes | undefined): Map<Value, StaticShape> {
  return new Map([...inferShapes(graph, NaN, known)].map(([v, s]) => [v, s?.map((d) => (d === null || Number.isNaN(d) ? null : d))]));
}
