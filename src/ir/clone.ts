import { Graph } from './graph.js';
import type { Model } from './model.js';
import { AttrType, Node, type Attribute } from './node.js';
import type { Tensor } from './tensor.js';
import type { Value, ValueType } from './value.js';

/**
 * An independent copy of a model: no Graph, Value, Node, Tensor or type object is shared, so editing the copy can
 * never reach the original. It holds what saving and loading the model would give, built the way src/onnx/decode.ts
 * builds a graph (same scopes, same reserved names), without the protobuf bytes: a value's type and doc string are
 * kept where ONNX keeps them (graph inputs, outputs, value_info). It keeps `path`, so messages about the copy still
 * name the user's file. Parts no rule reads (functions, training info, sparse tensors, annotations) are carried
 * through shared, as they are by a load.
 */
export function cloneModel(model: Model): Model {
  return {
    ...model,
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    metadataProps: model.metadataProps.map((e) => ({ ...e })),
    graph: cloneGraph(model.graph, undefined),
    functions: [...model.functions],
    trainingInfo: [...model.trainingInfo],
  };
}

function cloneGraph(g: Graph, parent: Graph | undefined): Graph {
  const graph = new Graph(parent);
  graph.name = g.name;
  graph.docString = g.docString;
  graph.inputs = g.inputs.map((v) => declare(v, graph.define(v.name)));
  for (const v of g.initializers) {
    const copy = graph.define(v.name);
    copy.initializer = v.initializer!.clone();
    graph.initializers.push(copy);
  }
  graph.nodes = g.nodes.map((n) => {
    const node = new Node(n.opType, [], n.name, n.domain);
    node.docString = n.docString;
    if (node.name !== undefined) graph.reserveNodeName(node.name);
    for (const out of n.outputs) graph.attachOutput(node, out ? graph.define(out.name) : null);
    node.graph = graph;
    return node;
  });
  graph.valueInfo = g.valueInfo.map((v) => declare(v, graph.value(v.name)));
  graph.outputs = g.outputs.map((v) => declare(v, graph.value(v.name)));
  graph.sparseInitializers = [...g.sparseInitializers];
  graph.quantizationAnnotation = [...g.quantizationAnnotation];
  // Attributes after all local names exist, so subgraphs resolve values defined later in this graph (as decoding does).
  g.nodes.forEach((n, k) => {
    const node = graph.nodes[k];
    node.attributes = n.attributes.map((a) => cloneAttribute(a, graph));
    n.inputs.forEach((v, i) => node.setInput(i, v ? graph.value(v.name) : null));
  });
  return graph;
}

function declare(from: Value, to: Value): Value {
  if (from.type !== undefined) to.type = structuredClone(from.type);
  if (from.docString !== undefined) to.docString = from.docString;
  return to;
}

function cloneAttribute(a: Attribute, graph: Graph): Attribute {
  return { ...a, value: cloneAttributeValue(a, graph) };
}

function cloneAttributeValue(a: Attribute, graph: Graph): unknown {
  const v = a.value;
  switch (a.type) {
    case AttrType.STRING: return (v as Uint8Array).slice();
    case AttrType.TENSOR: return (v as Tensor).clone();
    case AttrType.GRAPH: return cloneGraph(v as Graph, graph);
    case AttrType.TYPE_PROTO: return structuredClone(v as ValueType);
    case AttrType.FLOATS:
    case AttrType.INTS: return [...(v as unknown[])];
    case AttrType.STRINGS: return (v as Uint8Array[]).map((s) => s.slice());
    case AttrType.TENSORS: return (v as Tensor[]).map((t) => t.clone());
    case AttrType.GRAPHS: return (v as Graph[]).map((sub) => cloneGraph(sub, graph));
    case AttrType.TYPE_PROTOS: return structuredClone(v as ValueType[]);
    // Numbers are values; sparse tensors and attributes of unknown type are carried through as read.
    default: return v;
  }
}
