/**
 * Per-tensor learning-rate factors: each tensor's RMS, so that the learning rate is a relative step (a rate of 1e-2
 * moves a tensor by about 1% of its typical magnitude per step, as Adam's update is about ±1 per element). One absolute
 * rate for all tensors moves small tensors (1×1 weights and biases an order of magnitude below the depthwise kernels
 * and affine scales) by a large share of their size in the first steps and big ones hardly at all. A tensor whose RMS
 * is far below the others' (a zero-initialized bias or gate) gets the median RMS of the set instead, else it could
 * never move.
 */
export function tensorLrScales(params: ReadonlyMap<string, Float32Array>): Map<string, number> {
  const rms = new Map([...params].map(([name, p]) => [name, rootMeanSquare(p)]));
  const sorted = [...rms.values()].filter((r) => r > 0).sort((a, b) => a - b);
  const median = sorted.length ? sorted[sorted.length >> 1] : 1;
  const floor = median / 10;
  return new Map([...rms].map(([name, r]) => [name, r >= floor ? r : median]));
}

function rootMeanSquare(p: Float32Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * p[i];
  return Math.sqrt(s / Math.max(p.length, 1));
}
