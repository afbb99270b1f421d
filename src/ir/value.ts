import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';

/** One dimension of a shape: a number, a symbol (`N`), or unknown (neither). */
export interface Dim {
  value?: number;
  param?: string;
  denotation?: string;
}

/** TypeProto, as a tagged union. `shape` undefined means unknown rank; [] is a scalar. */
export type ValueType =
  | { kind: 'tensor' | 'sparse_tensor'; elemType?: number; shape?: Dim[]; denotation?: string }
  | { kind: 'sequence' | 'optional'; elem?: ValueType; denotation?: string }
  | { kind: 'map'; keyType?: number; value?: ValueType; denotation?: string }
  | { kind: 'none'; denotation?: string };

/** A place where a value is consumed: input slot `index` of `node`. */
export interface Use {
  node: Node;
  index: number;
}

/**
 * A named edge of the graph: a graph input, an initializer, or a node output. Nodes hold Value objects, not names, so
 * renaming or replacing a value is one operation, and every value knows its producer and its uses.
 */
export class Value {
  name: string;
  /** The graph whose scope defines this value (a subgraph may use values of its ancestors). */
  readonly graph: Graph;
  type: ValueType | undefined;
  docString: string | undefined;
  producer: Node | undefined;
  initializer: Tensor | undefined;
  readonly uses: Use[] = [];

  constructor(graph: Graph, name: string) {
    this.graph = graph;
    this.name = name;
  }

  get elemType(): number | undefined {
    const t = this.type;
    return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.elemType : this.initializer?.dataType;
  }

  /** Dims as numbers, symbols or null (unknown); undefined when even the rank is unknown. */
  get shape(): (number | string | null)[] | undefined {
    const t = this.type;
    if (t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') && t.shape) {
      return t.shape.map((d) => d.value ?? d.param ?? null);
    }
    return this.initializer ? [...this.initializer.dims] : undefined;
  }

  set shape(dims: readonly (number | string | null)[] | undefined) {
    const elemType = this.elemType;
    this.type = {
      kind: 'tensor',
      elemType,
      shape: dims?.map((d) => (typeof d === 'number' ? { value: d } : typeof d === 'string' ? { param: d } : {})),
    };
  }

  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this);
  }

  /** A constant: an initializer that the caller cannot override by feeding a graph input of the same name. */
  get isConstant(): boolean {
    return this.initializer !== undefined && !this.isGraphInput;
  }
}
