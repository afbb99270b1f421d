import { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { AttrType, Node, type Attribute } from '../ir/node.js';
import { DataType, dtypeInfo } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import type { Dim, Value, ValueType } from '../ir/value.js';
import { ftmError } from '../errors.js';
import { fromLong, has, type OnnxTypes } from './proto.js';

/** Reads the bytes of a tensor stored outside the protobuf (data_location = EXTERNAL). */
export type ExternalReader = (t: OnnxTypes.ITensorProto) => Uint8Array;

const opt = <T>(m: object, field: string): T | undefined => (has(m, field) ? ((m as Record<string, T>)[field]) : undefined);

/** `where` names the model (its file) in errors about what is inside it. */
export function decodeModel(m: OnnxTypes.IModelProto, readExternal: ExternalReader, where: string): Model {
  const ctx = { readExternal, where };
  return {
    irVersion: has(m, 'irVersion') ? Number(fromLong(m.irVersion as never)) : undefined,
    opsetImport: (m.opsetImport ?? []).map((o) => ({
      ...(has(o, 'domain') ? { domain: o.domain! } : {}),
      version: Number(fromLong(o.version as never)),
    })),
    producerName: opt(m, 'producerName'),
    producerVersion: opt(m, 'producerVersion'),
    domain: opt(m, 'domain'),
    modelVersion: has(m, 'modelVersion') ? fromLong(m.modelVersion as never) : undefined,
    docString: opt(m, 'docString'),
    metadataProps: (m.metadataProps ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
    graph: decodeGraph(m.graph!, undefined, ctx),
    functions: m.functions ?? [],
    trainingInfo: m.trainingInfo ?? [],
  };
}

interface Ctx {
  readExternal: ExternalReader;
  where: string;
}

function decodeGraph(g: OnnxTypes.IGraphProto, parent: Graph | undefined, ctx: Ctx): Graph {
  const graph = new Graph(parent);
  graph.name = opt(g, 'name');
  graph.docString = opt(g, 'docString');
  const declare = (info: OnnxTypes.IValueInfoProto, v: Value) => {
    if (has(info, 'type')) v.type = decodeType(info.type!);
    if (has(info, 'docString')) v.docString = info.docString!;
    return v;
  };
  graph.inputs = (g.input ?? []).map((i) => declare(i, graph.define(i.name ?? '')));
  for (const t of g.initializer ?? []) {
    const v = graph.define(t.name ?? '');
    v.initializer = decodeTensor(t, ctx);
    graph.initializers.push(v);
  }
  const nodes = (g.node ?? []).map((n) => {
    const node = new Node(n.opType ?? '', [], opt(n, 'name'), opt(n, 'domain'));
    node.docString = opt(n, 'docString');
    if (node.name !== undefined) graph.reserveNodeName(node.name);
    for (const out of n.output ?? []) graph.attachOutput(node, out === '' ? null : graph.define(out));
    node.graph = graph;
    return node;
  });
  graph.nodes = nodes;
  graph.valueInfo = (g.valueInfo ?? []).map((i) => declare(i, graph.value(i.name ?? '')));
  graph.outputs = (g.output ?? []).map((o) => declare(o, graph.value(o.name ?? '')));
  graph.sparseInitializers = g.sparseInitializer ?? [];
  graph.quantizationAnnotation = g.quantizationAnnotation ?? [];
  // Attributes after all local names exist, so subgraphs can resolve values defined later in this graph.
  (g.node ?? []).forEach((n, k) => {
    const node = nodes[k];
    node.attributes = (n.attribute ?? []).map((a) => decodeAttribute(a, node, graph, ctx));
    (n.input ?? []).forEach((name, i) => node.setInput(i, name === '' ? null : graph.value(name)));
  });
  return graph;
}

/** Where each kind of attribute keeps its value (AttributeProto), and whether that field is repeated. */
const PAYLOAD: Record<number, { field: keyof OnnxTypes.IAttributeProto; repeated: boolean }> = {
  [AttrType.FLOAT]: { field: 'f', repeated: false },
  [AttrType.INT]: { field: 'i', repeated: false },
  [AttrType.STRING]: { field: 's', repeated: false },
  [AttrType.TENSOR]: { field: 't', repeated: false },
  [AttrType.GRAPH]: { field: 'g', repeated: false },
  [AttrType.SPARSE_TENSOR]: { field: 'sparseTensor', repeated: false },
  [AttrType.TYPE_PROTO]: { field: 'tp', repeated: false },
  [AttrType.FLOATS]: { field: 'floats', repeated: true },
  [AttrType.INTS]: { field: 'ints', repeated: true },
  [AttrType.STRINGS]: { field: 'strings', repeated: true },
  [AttrType.TENSORS]: { field: 'tensors', repeated: true },
  [AttrType.GRAPHS]: { field: 'graphs', repeated: true },
  [AttrType.SPARSE_TENSORS]: { field: 'sparseTensors', repeated: true },
  [AttrType.TYPE_PROTOS]: { field: 'typeProtos', repeated: true },
};

/** AttrType's names by number, for messages. */
const KIND: Record<number, string> = Object.fromEntries(Object.entries(AttrType).map(([name, n]) => [n, name]));

/** Scalars and lists may be absent (proto3 defaults, empty lists); a tensor, graph or type has no default. */
const NEEDS_VALUE = new Set<number>([AttrType.TENSOR, AttrType.GRAPH, AttrType.SPARSE_TENSOR, AttrType.TYPE_PROTO]);

function holds(a: OnnxTypes.IAttributeProto, p: (typeof PAYLOAD)[number]): boolean {
  return p.repeated ? ((a[p.field] as unknown[] | null | undefined)?.length ?? 0) > 0 : has(a, p.field);
}

function decodeAttribute(a: OnnxTypes.IAttributeProto, node: Node, graph: Graph, ctx: Ctx): Attribute {
  const typeDeclared = has(a, 'type');
  const type = typeDeclared ? (a.type as number) : inferAttrType(a);
  const attr: Attribute = { name: a.name ?? '', type, value: undefined };
  checkPayload(a, attr, node, ctx);
  if (!typeDeclared) attr.typeDeclared = false;
  if (has(a, 'docString')) attr.docString = a.docString!;
  if (has(a, 'refAttrName')) attr.refAttrName = a.refAttrName!;
  switch (type) {
    case AttrType.FLOAT: attr.value = a.f; break;
    case AttrType.INT: attr.value = fromLong(a.i as never); break;
    case AttrType.STRING: attr.value = a.s; break;
    case AttrType.TENSOR: attr.value = decodeTensor(a.t!, ctx); break;
    case AttrType.GRAPH: attr.value = decodeGraph(a.g!, graph, ctx); break;
    case AttrType.SPARSE_TENSOR: attr.value = a.sparseTensor; break;
    case AttrType.TYPE_PROTO: attr.value = decodeType(a.tp!); break;
    case AttrType.FLOATS: attr.value = [...(a.floats ?? [])]; break;
    case AttrType.INTS: attr.value = (a.ints ?? []).map((i) => fromLong(i as never)); break;
    case AttrType.STRINGS: attr.value = [...(a.strings ?? [])]; break;
    case AttrType.TENSORS: attr.value = (a.tensors ?? []).map((t) => decodeTensor(t, ctx)); break;
    case AttrType.GRAPHS: attr.value = (a.graphs ?? []).map((sub) => decodeGraph(sub, graph, ctx)); break;
    case AttrType.SPARSE_TENSORS: attr.value = a.sparseTensors ?? []; break;
    case AttrType.TYPE_PROTOS: attr.value = (a.typeProtos ?? []).map(decodeType); break;
    default: attr.value = a; // an attribute of unknown type is kept whole
  }
  return attr;
}

/**
 * An attribute holds its value in the field of its type and in no other (onnx's checker rule): a value elsewhere
 * would be dropped on save, and a tensor, graph or type that is absent has nothing to stand in for it.
 */
function checkPayload(a: OnnxTypes.IAttributeProto, attr: Attribute, node: Node, ctx: Ctx): void {
  const own = PAYLOAD[attr.type];
  if (!own && attr.type !== AttrType.UNDEFINED) return; // unknown type: kept whole, as read
  const bad = (message: string) => ftmError('E_MODEL_INVALID', `attribute "${attr.name}" ${message}`, `${ctx.where}: node ${node.label}`);
  const stray = Object.entries(PAYLOAD).find(([, p]) => p !== own && holds(a, p));
  if (stray) throw bad(`${own ? `is declared ${KIND[attr.type]}` : 'has no type'} but holds a value of kind ${KIND[Number(stray[0])]}`);
  if (own && NEEDS_VALUE.has(attr.type) && !holds(a, own)) {
    throw bad(`is declared ${KIND[attr.type]} but holds no value (field ${String(own.field)} is absent)`);
  }
}

function inferAttrType(a: OnnxTypes.IAttributeProto): number {
  const found = Object.entries(PAYLOAD).find(([, p]) => holds(a, p));
  return found ? Number(found[0]) : AttrType.UNDEFINED;
}

export function decodeTensor(t: OnnxTypes.ITensorProto, ctx: Ctx): Tensor {
  const dataType = (t.dataType ?? 0) as number;
  const common = {
    name: opt<string>(t, 'name'),
    dataType,
    dims: (t.dims ?? []).map((d) => Number(fromLong(d as never))),
    docString: opt<string>(t, 'docString'),
    segment: opt(t, 'segment'),
  };
  return new Tensor({ ...common, ...tensorData(t, dataType, ctx) });
}

function tensorData(t: OnnxTypes.ITensorProto, dataType: number, ctx: Ctx): Pick<ConstructorParameters<typeof Tensor>[0], 'raw' | 'data' | 'storage'> {
  if (t.dataLocation === 1) return { raw: ctx.readExternal(t), storage: 'raw' };
  if (has(t, 'rawData')) return { raw: t.rawData!, storage: 'raw' };
  if (dataType === DataType.STRING) return { data: [...(t.stringData ?? [])], storage: 'fields' };
  const info = dtypeInfo(dataType);
  if (!info?.array) return { raw: new Uint8Array(0), storage: 'fields' };
  const field = (t as Record<string, unknown>)[info.field] as ArrayLike<number | object> | undefined;
  const values = Array.from(field ?? [], (v) => (typeof v === 'number' ? v : fromLong(v as never, info.field === 'uint64Data')));
  const array = new info.array(values.length);
  const wide = array instanceof BigInt64Array || array instanceof BigUint64Array;
  values.forEach((v, i) => ((array as unknown as (number | bigint)[])[i] = wide ? BigInt(v) : Number(v)));
  return { data: array, storage: 'fields' };
}

function decodeDim(d: OnnxTypes.TensorShapeProto.IDimension): Dim {
  const dim: Dim = {};
  if (has(d, 'dimValue')) dim.value = Number(fromLong(d.dimValue as never));
  if (has(d, 'dimParam')) dim.param = d.dimParam!;
  if (has(d, 'denotation')) dim.denotation = d.denotation!;
  return dim;
}

export function decodeType(tp: OnnxTypes.ITypeProto): ValueType {
  const denotation = opt<string>(tp, 'denotation');
  const withDen = <T extends object>(t: T): T => (denotation === undefined ? t : { ...t, denotation });
  const tensorLike = (kind: 'tensor' | 'sparse_tensor', t: OnnxTypes.TypeProto.ITensor | OnnxTypes.TypeProto.ISparseTensor) =>
    withDen({
      kind,
      ...(has(t, 'elemType') ? { elemType: t.elemType! } : {}),
      ...(has(t, 'shape') ? { shape: (t.shape!.dim ?? []).map(decodeDim) } : {}),
    });
  if (has(tp, 'tensorType')) return tensorLike('tensor', tp.tensorType!);
  if (has(tp, 'sparseTensorType')) return tensorLike('sparse_tensor', tp.sparseTensorType!);
  if (has(tp, 'sequenceType')) return withDen({ kind: 'sequence', ...elem(tp.sequenceType!) });
  if (has(tp, 'optionalType')) return withDen({ kind: 'optional', ...elem(tp.optionalType!) });
  if (has(tp, 'mapType')) {
    const m = tp.mapType!;
    return withDen({
      kind: 'map',
      ...(has(m, 'keyType') ? { keyType: m.keyType! } : {}),
      ...(has(m, 'valueType') ? { value: decodeType(m.valueType!) } : {}),
    });
  }
  return withDen({ kind: 'none' });
}

function elem(t: { elemType?: OnnxTypes.ITypeProto | null }): { elem?: ValueType } {
  return has(t, 'elemType') ? { elem: decodeType(t.elemType!) } : {};
}
