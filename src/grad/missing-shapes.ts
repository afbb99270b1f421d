import type { Node } from '../ir/node.js';
import type { GradInfo, StaticShape } from './types.js';

/**
 * Output shapes of the operators the rules differentiate that src/analysis/shapes.ts does not infer (Split, Resize),
 * from their input's shape; undefined when they cannot be known. Without them, every shape downstream of a Split or
 * a Resize would be unknown and the rules there would refuse.
 */
export function missingShapes(node: Node, info: GradInfo): StaticShape[] | undefined {
  const x = info.shape(node.inputs[0]);
  if (!x || !node.isOnnxDomain) return undefined;
  if (node.opType === 'Split') {
    const axis = (node.getInt('axis', 0) + x.length) % x.length;
    const n = node.outputs.length;
    const sizes = node.getInts('split') ?? info.constantValues(node.inputs[1]);
    const dim = x[axis];
    const parts = sizes ?? (dim === null ? undefined : Array.from({ length: n }, (_, i) => Math.min(Math.ceil(dim / n), Math.max(0, dim - i * Math.ceil(dim / n)))));
    return parts?.map((d) => x.map((s, i) => (i === axis ? d : s)));
  }
  if (node.opType === 'Resize') {
    const sizes = info.constantValues(node.inputs[3]);
    if (sizes?.length === x.length) return [sizes];
    const scales = info.constantValues(node.inputs[2]);
    if (scales?.length !== x.length) return undefined;
    return [x.map((d, i) => (scales[i] === 1 ? d : d === null ? null : Math.floor(Math.fround(d * scales[i]))))];
  }
  return undefined;
}
