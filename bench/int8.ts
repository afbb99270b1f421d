import { cloneModel, DataType, Tensor, type Model } from '../src/index.js';

/**
 * The int8 baseline: every float Conv/Gemm weight stored as int8 with one float scale per output channel, and a
 * DequantizeLinear in front of its use (what weight-only quantization tools emit). Returns the model and its byte
 * ratio (weight bytes after / before).
 */
export function quantizeWeightsInt8(model: Model): { model: Model; byteRatio: number } {
  const copy = cloneModel(model);
  const g = copy.graph;
  let before = 0, after = 0;
  for (const v of g.initializers) before += v.initializer!.byteLength;
  for (const node of [...g.nodes]) {
    const w = node.inputs[1];
    if (!['Conv', 'Gemm'].includes(node.opType) || !w?.isConstant || w.uses.length !== 1 || w.initializer!.dataType !== DataType.FLOAT) continue;
    const t = w.initializer!;
    const axis = node.opType === 'Gemm' && node.getInt('transB', 0) === 0 ? 1 : 0;
    const channels = t.dims[axis];
    const data = t.toFloat32();
    const scales = new Float32Array(channels);
    const index = (i: number) => (axis === 0 ? Math.floor(i / (t.size / channels)) : i % channels);
    data.forEach((x, i) => (scales[index(i)] = Math.max(scales[index(i)], Math.abs(x) / 127)));
    const q = Int8Array.from(data, (x, i) => (scales[index(i)] ? Math.round(x / scales[index(i)]) : 0));
    const qv = g.addInitializer(`${w.name}_int8`, new Tensor({ dataType: DataType.INT8, dims: t.dims, data: q }));
    const sv = g.addInitializer(`${w.name}_scale`, Tensor.float32([channels], scales));
    const deq = g.addNode({ op: 'DequantizeLinear', inputs: [qv, sv], attrs: { axis }, name: `${node.name}/dequantize` });
    node.setInput(1, deq.outputs[0]);
  }
  copy.graph.initializers.filter((v) => v.uses.length === 0).forEach((v) => g.removeInitializer(v));
  for (const v of g.initializers) after += v.initializer!.byteLength;
  return { model: copy, byteRatio: after / before };
}
