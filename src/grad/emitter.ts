import type { Graph } from '../ir/graph.js';
import type { AttrInit } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

type Attrs = Record<string, AttrInit | undefined>;

/**
 * Appends nodes to the training graph under one name prefix, in the form each operator has at the graph's opset: the
 * operators whose axes or sizes moved from attributes to inputs (ReduceSum and Unsqueeze and Split at 13, ReduceMean at
 * 18) are emitted one way or the other here, and nowhere else. Small constants and `Shape` nodes are shared through
 * `cache`, so a hundred rules asking for the scalar 0 or the shape of one value add one constant or node, not a hundred.
 */
export class Emitter {
  constructor(
    readonly graph: Graph,
    readonly opset: number,
    /** Names of new nodes and values start with it (e.g. the differentiated node's name and `/grad`). */
    readonly prefix: string,
    /** Shared constants and Shape nodes, by what they hold. */
    readonly cache: Map<string, Value> = new Map(),
  ) {}

  /** An emitter writing to the same graph under another prefix, sharing the constants. */
  at(prefix: string): Emitter {
    return new Emitter(this.graph, this.opset, prefix, this.cache);
  }

  op(opType: string, inputs: (Value | null)[], attrs?: Attrs): Value {
    return this.ops(opType, inputs, 1, attrs)[0];
  }

  ops(opType: string, inputs: (Value | null)[], outputs: number, attrs?: Attrs): Value[] {
    const base = `${this.prefix}/${opType}`;
    const names = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? base : `${base}_${i}`));
    return this.graph.addNode({ op: opType, inputs, attrs, name: base, outputs: names }).outputs as Value[];
  }

  constant(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(`${this.prefix}/${name}`, tensor);
  }

  scalar(value: number): Value {
    return this.cached(`scalar:${value}`, () => this.graph.addInitializer('grad/scalar', Tensor.float32([], [value])));
  }

  ints(values: readonly number[]): Value {
    return this.cached(`ints:${values.join(',')}`, () => this.graph.addInitializer('grad/ints', Tensor.int64([values.length], values)));
  }

  /** The runtime shape of `v` (one Shape node per value). */
  shapeOf(v: Value): Value {
    return this.cached(`shape:${v.name}`, () => this.at(`${v.name}`).op('Shape', [v]));
  }

  /**
   * Over axes with a gap (a bias gradient's [0, 2, 3]) the trailing run is summed first, then the rest: onnxruntime's
   * ReduceSum is faster that way than over all of them at once, and the sums are the same (measured:
   * bench/grad-forms.md). Only for distinct non-negative axes: without keepdims the first sum lowers the rank, which
   * would move negative ones.
   */
  reduceSum(x: Value, axes: readonly number[], keepdims: boolean): Value {
    const sorted = [...axes].sort((a, b) => a - b);
    let run = sorted.length - 1;
    while (run > 0 && sorted[run - 1] === sorted[run] - 1) run--;
    const splittable = sorted[0] >= 0 && new Set(sorted).size === sorted.length;
    if (run <= 0 || !splittable) return this.reduce('ReduceSum', 13, x, axes, keepdims);
    const inner = this.reduce('ReduceSum', 13, x, sorted.slice(run), keepdims);
    return this.reduce('ReduceSum', 13, inner, sorted.slice(0, run), keepdims);
  }

  reduceMean(x: Value, axes: readonly number[], keepdims: boolean): Value {
    return this.reduce('ReduceMean', 18, x, axes, keepdims);
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.ints(axes)]) : this.op('Unsqueeze', [x], { axes: [...axes] });
  }

  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    return this.opset >= 13
      ? this.ops('Split', [x, this.ints(sizes)], sizes.length, { axis })
      : this.ops('Split', [x], sizes.length, { axis, split: [...sizes] });
  }

  reshapeLike(x: Value, like: Value): Value {
    return this.op('Reshape', [x, this.shapeOf(like)]);
  }

  /** Float zeros of the runtime shape of `like`. */
  zerosLike(like: Value): Value {
    return this.op('ConstantOfShape', [this.shapeOf(like)], { value: Tensor.float32([1], [0]) });
  }

  /** ReduceSum/ReduceMean take their axes as an input from opset `since`, as an attribute before. */
  private reduce(opType: string, since: number, x: Value, axes: readonly number[], keepdims: boolean): Value {
    const k = keepdims ? 1 : 0;
    return this.opset >= since ? this.op(opType, [x, this.ints(axes)], { keepdims: k }) : this.op(opType, [x], { axes: [...axes], keepdims: k });
  }

  private cached(key: string, make: () => Value): Value {
    let v = this.cache.get(key);
    if (!v) this.cache.set(key, (v = make()));
    return v;
  }
}
