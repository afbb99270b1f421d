import { dtypeName } from '../ir/dtype.js';
import { convGeometry } from '../ir/conv.js';
import type { Model } from '../ir/model.js';
import { onnxOpset } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import type { IntakeReport } from '../intake/intake.js';
import { constantTensor } from '../profile/layers.js';
import { countParams } from '../analysis/params.js';
import { inferShapes } from '../analysis/shapes.js';
import { macsOfConv } from '../analysis/conv-macs.js';

export interface TensorSummary {
  name: string;
  type: string;
  shape: (number | string | null)[] | null;
}

export interface ConvLayer {
  name: string;
  output: string;
  inChannels: number | null;
  outChannels: number | null;
  kernel: number[];
  strides: number[];
  group: number;
  params: number;
  outputSize: (number | null)[] | null;
  macs: number | null;
}

export interface InspectReport {
  file?: string;
  irVersion?: number;
  opset?: number;
  producer: string;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  ops: Record<string, number>;
  convs: ConvLayer[];
  totals: { nodes: number; params: number; convParams: number; convMacs: number | null };
  /** What model intake changed before this report was made (absent when the file was inspected as written). */
  intake?: IntakeReport;
}

const summary = (v: Value): TensorSummary => ({ name: v.name, type: dtypeName(v.elemType), shape: v.shape ?? null });

/** What a model is made of: interface, operators, and every convolution with its cost (symbolic batch = 1). */
export function inspectModel(model: Model): InspectReport {
  const g = model.graph;
  // NaN for symbolic dims: a symbolic height or width leaves sizes and MACs unknown instead of taken as 1 (MACs are
  // per sample, so the batch is never read).
  const shapes = inferShapes(g, NaN);
  const ops: Record<string, number> = {};
  for (const n of g.allNodes()) {
    const key = n.isOnnxDomain ? n.opType : `${n.domain}:${n.opType}`;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  const convs: ConvLayer[] = g.nodes
    .filter((n) => n.isOnnxDomain && n.opType === 'Conv')
    .map((n) => {
      const w = constantTensor(n.inputs[1]);
      // A weight computed by constant nodes (FTM's 1×1 form) has its inferred shape; its parameters are those nodes' inputs.
      const computed = n.inputs[1]?.producer ? shapes.get(n.inputs[1])?.map((d) => d ?? NaN) : undefined;
      const wDims = w?.dims ?? computed ?? n.inputs[1]?.shape?.map((d) => (typeof d === 'number' ? d : NaN));
      const geo = convGeometry(n, wDims);
      const group = geo.group;
      const out = n.outputs[0] ? shapes.get(n.outputs[0]) : undefined;
      const spatial = out ? out.slice(2).map((d) => (d === null || Number.isNaN(d) ? null : d)) : null;
      const cout = wDims?.[0] ?? null;
      const cinPerGroup = wDims?.[1] ?? null;
      const bias = constantTensor(n.inputs[2])?.size ?? 0;
      const macs = macsOfConv(out, wDims);
      return {
        name: n.name ?? '',
        output: n.outputs[0]?.name ?? '',
        inChannels: cinPerGroup === null ? null : cinPerGroup * group,
        outChannels: cout,
        kernel: geo.kernel,
        strides: geo.strides,
        group,
        params: (!computed && wDims?.every(Number.isFinite) ? wDims.reduce((a, b) => a * b, 1) : 0) + bias,
        outputSize: spatial ?? null,
        macs,
      };
    });
  const convMacs = convs.every((c) => c.macs !== null) ? convs.reduce((a, c) => a + c.macs!, 0) : null;
  return {
    file: model.path,
    irVersion: model.irVersion,
    opset: onnxOpset(model),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: g.inputs.filter((v) => !v.initializer).map(summary),
    outputs: g.outputs.map(summary),
    ops,
    convs,
    totals: { nodes: g.nodes.length, params: countParams(g), convParams: convs.reduce((a, c) => a + c.params, 0), convMacs },
  };
}
