import * as ort from 'onnxruntime-node';
import { encodeModel, type Model } from '../../src/index.js';

/** Runs a model once on onnxruntime with float32 feeds; returns every output as a Float32Array. */
export async function runOnce(model: Model, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
    const out = await session.run(inputs);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}
