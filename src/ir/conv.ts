import { ftmError } from '../errors.js';
import type { Node } from './node.js';

/** The resolved geometry of a Conv (or pooling) node, defaults filled in. */
export interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads then end pads, ONNX order; undefined when auto_pad decides them from the input size. */
  pads: number[] | undefined;
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  group: number;
  ceilMode: boolean;
}

/** Reads a Conv/pool node's attributes; `kernel` comes from kernel_shape or, for Conv, the weight's spatial dims. */
export function convGeometry(node: Node, weightDims?: readonly number[]): ConvGeometry {
  const kernel = node.getInts('kernel_shape') ?? weightDims?.slice(2);
  if (!kernel) throw ftmError('E_UNSUPPORTED', 'kernel size unknown: no kernel_shape attribute and no constant weight', node.label);
  const n = kernel.length;
  const autoPad = node.getString('auto_pad', 'NOTSET') as ConvGeometry['autoPad'];
  return {
    kernel,
    strides: node.getInts('strides') ?? Array(n).fill(1),
    dilations: node.getInts('dilations') ?? Array(n).fill(1),
    pads: autoPad === 'NOTSET' ? (node.getInts('pads') ?? Array(2 * n).fill(0)) : autoPad === 'VALID' ? Array(2 * n).fill(0) : undefined,
    autoPad,
    group: node.getInt('group', 1),
    ceilMode: node.getInt('ceil_mode', 0) === 1,
  };
}

/** Spatial output size along each axis, for the given input spatial size. */
export function convOutputSize(g: ConvGeometry, input: readonly number[]): number[] {
  return input.map((size, i) => {
    const span = g.dilations[i] * (g.kernel[i] - 1) + 1;
    if (g.pads === undefined) return Math.ceil(size / g.strides[i]);
    const padded = size + g.pads[i] + g.pads[i + input.length] - span;
    const steps = g.ceilMode ? Math.ceil(padded / g.strides[i]) : Math.floor(padded / g.strides[i]);
    return steps + 1;
  });
}

/** Explicit pads for an input size, resolving SAME_UPPER/SAME_LOWER the way ONNX defines them. */
export function resolvePads(g: ConvGeometry, input: readonly number[]): number[] {
  if (g.pads) return g.pads;
  const out = convOutputSize(g, input);
  const begin: number[] = [];
  const end: number[] = [];
  input.forEach((size, i) => {
    const total = Math.max(0, (out[i] - 1) * g.strides[i] + g.dilations[i] * (g.kernel[i] - 1) + 1 - size);
    const small = Math.floor(total / 2);
    begin.push(g.autoPad === 'SAME_LOWER' ? total - small : small);
    end.push(g.autoPad === 'SAME_LOWER' ? small : total - small);
  });
  return [...begin, ...end];
}
