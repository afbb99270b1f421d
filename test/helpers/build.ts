import { DataType, Graph, newModel, Tensor, type Model, type Value } from '../../src/index.js';

/** Deterministic pseudo-random floats in [-1, 1) for test weights and inputs. */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

/** A model with one float input of the given shape; returns the model, its graph and the input value. */
export function modelWithInput(shape: (number | string)[], opset = 13): { model: Model; g: Graph; x: Value } {
  const model = newModel(opset);
  const g = model.graph;
  const x = g.define('x');
  x.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: shape.map((d) => (typeof d === 'number' ? { value: d } : { param: d })) };
  g.inputs.push(x);
  return { model, g, x };
}

/** A float32 initializer with random values. */
export function randomWeight(g: Graph, name: string, dims: number[], seed: number): Value {
  return g.addInitializer(name, Tensor.float32(dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed)));
}
