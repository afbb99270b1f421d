import { ftmError } from '../errors.js';
import { makeAttribute, Node, type AttrInit } from './node.js';
import type { Tensor } from './tensor.js';
import { Value, type ValueType } from './value.js';

/** Names already used in a model: one namespace for values, one for nodes, shared by a graph and its subgraphs. */
class Names {
  readonly values = new Set<string>();
  readonly nodes = new Set<string>();
  /** Next suffix to try per base name, so that asking for the same base n times costs O(n), not O(n²). */
  readonly next = new Map<string, number>();

  fresh(taken: Set<string>, base: string): string {
    let name = base;
    let i = this.next.get(base) ?? 1;
    while (taken.has(name)) name = `${base}_${i++}`;
    this.next.set(base, i);
    taken.add(name);
    return name;
  }
}

export interface NodeSpec {
  op: string;
  inputs: (Value | null)[];
  /** Number of outputs (default 1) or the base names wanted for them. */
  outputs?: number | string[];
  attrs?: Record<string, AttrInit | undefined>;
  name?: string;
  domain?: string;
}

/**
 * A graph (the main graph or a subgraph). It owns the values it defines, its nodes in order, and its initializers.
 * Editing goes through these methods so that producers, uses and names stay consistent.
 */
export class Graph {
  name: string | undefined;
  docString: string | undefined;
  readonly parent: Graph | undefined;
  inputs: Value[] = [];
  outputs: Value[] = [];
  /** Values with a declared type in value_info, in file order. */
  valueInfo: Value[] = [];
  nodes: Node[] = [];
  /** Values that hold an initializer, in file order. */
  initializers: Value[] = [];
  /** Carried through untouched: no rewrite reads them. */
  sparseInitializers: unknown[] = [];
  quantizationAnnotation: unknown[] = [];
  private readonly scope = new Map<string, Value>();
  private readonly names: Names;

  constructor(parent?: Graph) {
    this.parent = parent;
    this.names = parent ? parent.names : new Names();
  }

  /** The value of that name visible here (this graph, then enclosing graphs), if any. */
  lookup(name: string): Value | undefined {
    return this.scope.get(name) ?? this.parent?.lookup(name);
  }

  /** The value of that name visible here, created in this graph's scope when no scope defines it yet. */
  value(name: string): Value {
    const found = this.lookup(name);
    if (found) return found;
    const v = new Value(this, name);
    this.scope.set(name, v);
    this.names.values.add(name);
    return v;
  }

  /** The value of that name in this graph's own scope, created there if needed (shadowing enclosing graphs). */
  define(name: string): Value {
    const local = this.scope.get(name);
    if (local) return local;
    const v = new Value(this, name);
    this.scope.set(name, v);
    this.names.values.add(name);
    return v;
  }

  /** Values defined in this graph's own scope. */
  localValues(): IterableIterator<Value> {
    return this.scope.values();
  }

  /** A value name no other value of the model uses, reserved on return. */
  freshName(base: string): string {
    return this.names.fresh(this.names.values, base);
  }

  freshNodeName(base: string): string {
    return this.names.fresh(this.names.nodes, base);
  }

  /** Registers a node name read from a file (duplicates are the validator's business). */
  reserveNodeName(name: string): void {
    this.names.nodes.add(name);
  }

  /** A new value with a name derived from `base` and unique in the model. */
  newValue(base: string, type?: ValueType): Value {
    const v = new Value(this, this.freshName(base));
    this.scope.set(v.name, v);
    v.type = type;
    return v;
  }

  rename(value: Value, name: string): void {
    if (value.name === name) return;
    if (value.graph.lookup(name)) throw ftmError('E_NAME_TAKEN', `cannot rename "${value.name}": name "${name}" is already used`);
    value.graph.scope.delete(value.name);
    this.names.values.delete(value.name);
    value.name = name;
    value.graph.scope.set(name, value);
    this.names.values.add(name);
  }

  /** Adds a constant under a fresh name derived from `base`; an existing initializer is never overwritten. */
  addInitializer(base: string, tensor: Tensor): Value {
    const v = this.newValue(base);
    tensor.name = v.name;
    v.initializer = tensor;
    this.initializers.push(v);
    return v;
  }

  /** A value holding a constant that is not yet listed among the initializers (a staged rewrite's weight). */
  createConstant(base: string, tensor: Tensor): Value {
    const v = this.newValue(base);
    tensor.name = v.name;
    v.initializer = tensor;
    return v;
  }

  removeInitializer(value: Value): void {
    value.initializer = undefined;
    this.initializers = this.initializers.filter((v) => v !== value);
    this.forget([value]);
  }

  /** Appends a node whose outputs are new values. The order is fixed later by `toposort`. */
  addNode(spec: NodeSpec): Node {
    const node = this.createNode(spec);
    this.insertNodes([node]);
    return node;
  }

  /** A node wired to its inputs, with fresh output values, but not yet part of the graph (see `insertNodes`). */
  createNode(spec: NodeSpec): Node {
    const attrs = Object.entries(spec.attrs ?? {})
      .filter((e): e is [string, AttrInit] => e[1] !== undefined)
      .map(([k, v]) => makeAttribute(k, v));
    const name = spec.name === undefined ? undefined : this.freshNodeName(spec.name);
    const node = new Node(spec.op, attrs, name, spec.domain);
    spec.inputs.forEach((v, i) => node.setInput(i, v));
    const outs = spec.outputs ?? 1;
    const bases = typeof outs === 'number' ? Array.from({ length: outs }, (_, i) => `${name ?? spec.op}_out${i}`) : outs;
    for (const base of bases) this.attachOutput(node, this.newValue(base));
    return node;
  }

  insertNodes(nodes: Node[]): void {
    for (const node of nodes) {
      this.nodes.push(node);
      node.graph = this;
    }
  }

  /** Makes `value` the next output of `node`. */
  attachOutput(node: Node, value: Value | null): void {
    if (value) value.producer = node;
    node.outputs.push(value);
  }

  /** Takes nodes out of the graph, disconnecting their inputs; their outputs lose their producer. */
  removeNodes(nodes: Iterable<Node>): void {
    const gone = new Set(nodes);
    for (const node of gone) {
      node.inputs.forEach((_, i) => node.setInput(i, null));
      for (const out of node.outputs) if (out && out.producer === node) out.producer = undefined;
      node.graph = undefined;
      if (node.name) this.names.nodes.delete(node.name);
    }
    this.nodes = this.nodes.filter((n) => !gone.has(n));
  }

  removeNode(node: Node): void {
    this.removeNodes([node]);
  }

  /**
   * Moves every use of `from` to `to`. When `from` is a graph output, `to` takes its place and its name, so the
   * graph's interface is unchanged.
   */
  replaceAllUses(from: Value, to: Value): void {
    if (from === to) return;
    for (const use of [...from.uses]) use.node.setInput(use.index, to);
    const at = this.outputs.indexOf(from);
    if (at >= 0) {
      const outputName = from.name;
      this.rename(from, this.freshName(`${outputName}_replaced`));
      this.rename(to, outputName);
      to.type ??= from.type;
      this.outputs[at] = to;
    }
  }

  /** Drops values that nothing refers to any more from their scope (and their value_info entries). */
  forget(values: Iterable<Value>): void {
    const gone = new Set<Value>();
    for (const v of values) {
      if (v.uses.length || v.producer || v.initializer || this.inputs.includes(v) || this.outputs.includes(v)) continue;
      if (v.graph.scope.get(v.name) !== v) continue;
      v.graph.scope.delete(v.name);
      this.names.values.delete(v.name);
      gone.add(v);
    }
    if (gone.size) this.valueInfo = this.valueInfo.filter((v) => !gone.has(v));
  }

  /** Nodes of this graph and of all its subgraphs, depth first. */
  *allNodes(): Generator<Node> {
    for (const node of this.nodes) {
      yield node;
      for (const g of node.subgraphs()) yield* g.allNodes();
    }
  }
}
