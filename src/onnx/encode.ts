import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { AttrType, type Attribute, type Int } from '../ir/node.js';
import { DataType, dtypeInfo } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, Value, ValueType } from '../ir/value.js';
import { onnx, toLong, type OnnxTypes } from './proto.js';

/**
 * Decides where a tensor's bytes go: `undefined` keeps them in the protobuf, otherwise the returned
 * location/offset/length entries are written in place of the data.
 */
export type ExternalWriter = (t: Tensor) => { location: string; offset: number; length: number } | undefined;

export function encodeModelProto(model: Model, external?: ExternalWriter): Uint8Array {
  return onnx.ModelProto.encode(modelToProto(model, external)).finish();
}

/** Only fields that are present are set: absent and default-valued differ in proto2, and both must survive. */
function set<T extends object>(target: T, field: string, value: unknown): T {
  if (value !== undefined) (target as Record<string, unknown>)[field] = value;
  return target;
}

function modelToProto(model: Model, external?: ExternalWriter): OnnxTypes.IModelProto {
  const m: OnnxTypes.IModelProto = {};
  set(m, 'irVersion', model.irVersion === undefined ? undefined : toLong(model.irVersion));
  m.opsetImport = model.opsetImport.map((o) => set({ version: toLong(o.version) } as OnnxTypes.IOperatorSetIdProto, 'domain', o.domain));
  set(m, 'producerName', model.producerName);
  set(m, 'producerVersion', model.producerVersion);
  set(m, 'domain', model.domain);
  set(m, 'modelVersion', model.modelVersion === undefined ? undefined : toLong(model.modelVersion));
  set(m, 'docString', model.docString);
  m.metadataProps = model.metadataProps.map((e) => ({ key: e.key, value: e.value }));
  m.graph = graphToProto(model.graph, external);
  m.functions = model.functions as OnnxTypes.IFunctionProto[];
  m.trainingInfo = model.trainingInfo as OnnxTypes.ITrainingInfoProto[];
  return m;
}

function graphToProto(graph: Graph, external?: ExternalWriter): OnnxTypes.IGraphProto {
  const g: OnnxTypes.IGraphProto = {};
  g.node = graph.nodes.map((node) => {
    const n: OnnxTypes.INodeProto = {
      input: node.inputs.map((v) => v?.name ?? ''),
      output: node.outputs.map((v) => v?.name ?? ''),
    };
    set(n, 'name', node.name);
    set(n, 'opType', node.opType);
    set(n, 'domain', node.domain);
    n.attribute = node.attributes.map((a) => attributeToProto(a, external));
    set(n, 'docString', node.docString);
    return n;
  });
  set(g, 'name', graph.name);
  g.initializer = graph.initializers.map((v) => tensorToProto(v.initializer!, external));
  g.sparseInitializer = graph.sparseInitializers as OnnxTypes.ISparseTensorProto[];
  set(g, 'docString', graph.docString);
  g.input = graph.inputs.map(valueInfo);
  g.output = graph.outputs.map(valueInfo);
  g.valueInfo = graph.valueInfo.map(valueInfo);
  g.quantizationAnnotation = graph.quantizationAnnotation as OnnxTypes.ITensorAnnotation[];
  return g;
}

function valueInfo(v: Value): OnnxTypes.IValueInfoProto {
  const info: OnnxTypes.IValueInfoProto = { name: v.name };
  set(info, 'type', v.type && typeToProto(v.type));
  set(info, 'docString', v.docString);
  return info;
}

function dimToProto(d: Dim): OnnxTypes.TensorShapeProto.IDimension {
  const dim: OnnxTypes.TensorShapeProto.IDimension = {};
  set(dim, 'dimValue', d.value === undefined ? undefined : toLong(d.value));
  set(dim, 'dimParam', d.param);
  set(dim, 'denotation', d.denotation);
  return dim;
}

function typeToProto(t: ValueType): OnnxTypes.ITypeProto {
  const tp: OnnxTypes.ITypeProto = {};
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const inner = {};
      set(inner, 'elemType', t.elemType);
      set(inner, 'shape', t.shape && { dim: t.shape.map(dimToProto) });
      set(tp, t.kind === 'tensor' ? 'tensorType' : 'sparseTensorType', inner);
      break;
    }
    case 'sequence':
    case 'optional':
      set(tp, t.kind === 'sequence' ? 'sequenceType' : 'optionalType', set({}, 'elemType', t.elem && typeToProto(t.elem)));
      break;
    case 'map':
      set(tp, 'mapType', set(set({}, 'keyType', t.keyType), 'valueType', t.value && typeToProto(t.value)));
      break;
  }
  set(tp, 'denotation', t.denotation);
  return tp;
}

function attributeToProto(a: Attribute, external?: ExternalWriter): OnnxTypes.IAttributeProto {
  const p: OnnxTypes.IAttributeProto = { name: a.name };
  set(p, 'refAttrName', a.refAttrName);
  set(p, 'docString', a.docString);
  if (a.typeDeclared !== false) p.type = a.type;
  const v = a.value;
  switch (a.type) {
    case AttrType.FLOAT: p.f = v as number; break;
    case AttrType.INT: p.i = toLong(v as Int) as never; break;
    case AttrType.STRING: p.s = v as Uint8Array; break;
    case AttrType.TENSOR: p.t = tensorToProto(v as Tensor, external); break;
    case AttrType.GRAPH: p.g = graphToProto(v as Graph, external); break;
    case AttrType.SPARSE_TENSOR: p.sparseTensor = v as OnnxTypes.ISparseTensorProto; break;
    case AttrType.TYPE_PROTO: p.tp = typeToProto(v as ValueType); break;
    case AttrType.FLOATS: p.floats = v as number[]; break;
    case AttrType.INTS: p.ints = (v as Int[]).map((i) => toLong(i)) as never; break;
    case AttrType.STRINGS: p.strings = v as Uint8Array[]; break;
    case AttrType.TENSORS: p.tensors = (v as Tensor[]).map((t) => tensorToProto(t, external)); break;
    case AttrType.GRAPHS: p.graphs = (v as Graph[]).map((g) => graphToProto(g, external)); break;
    case AttrType.SPARSE_TENSORS: p.sparseTensors = v as OnnxTypes.ISparseTensorProto[]; break;
    case AttrType.TYPE_PROTOS: p.typeProtos = (v as ValueType[]).map(typeToProto); break;
    default: return v as OnnxTypes.IAttributeProto;
  }
  return p;
}

export function tensorToProto(t: Tensor, external?: ExternalWriter): OnnxTypes.ITensorProto {
  const p: OnnxTypes.ITensorProto = { dims: t.dims.map((d) => toLong(d)) as never };
  p.dataType = t.dataType;
  set(p, 'segment', t.segment);
  set(p, 'name', t.name);
  set(p, 'docString', t.docString);
  const ext = t.dataType === DataType.STRING ? undefined : external?.(t);
  if (ext) {
    p.externalData = [
      { key: 'location', value: ext.location },
      { key: 'offset', value: String(ext.offset) },
      { key: 'length', value: String(ext.length) },
    ];
    p.dataLocation = 1;
  } else if (t.storage === 'raw' && t.dataType !== DataType.STRING) {
    p.rawData = t.rawBytes();
  } else {
    writeFields(p, t);
  }
  return p;
}

function writeFields(p: OnnxTypes.ITensorProto, t: Tensor): void {
  const info = dtypeInfo(t.dataType);
  if (!info) return;
  const d = t.data;
  const values = Array.isArray(d) ? d : Array.from(d as ArrayLike<number | bigint>);
  if (values.length === 0) return;
  const field = info.field;
  (p as Record<string, unknown>)[field] =
    field === 'int64Data' || field === 'uint64Data'
      ? (values as (number | bigint)[]).map((v) => toLong(v, field === 'uint64Data'))
      : values;
}
