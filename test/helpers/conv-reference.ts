/** Independent reference computations for numeric tests: plain loops in float64, written for clarity, not speed. */

/** A dense NCHW tensor in float64. */
export interface Dense {
  data: Float64Array;
  dims: [number, number, number, number];
}

/** 2-D convolution, group 1, stride 1, the same zero padding `pad` on every side; `relu` applies max(0, ·) after. */
export function conv2d(x: Dense, w: Float32Array, wDims: number[], bias: Float32Array | undefined, pad: number, relu = false): Dense {
  const [n, cin, h, wd] = x.dims;
  const [cout, , kh, kw] = wDims;
  const oh = h + 2 * pad - kh + 1;
  const ow = wd + 2 * pad - kw + 1;
  const out = new Float64Array(n * cout * oh * ow);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < cout; o++) {
      for (let y = 0; y < oh; y++) {
        for (let z = 0; z < ow; z++) {
          let acc = bias ? bias[o] : 0;
          for (let c = 0; c < cin; c++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const yy = y + i - pad;
                const zz = z + j - pad;
                if (yy < 0 || yy >= h || zz < 0 || zz >= wd) continue;
                acc += x.data[((s * cin + c) * h + yy) * wd + zz] * w[((o * cin + c) * kh + i) * kw + j];
              }
            }
          }
          out[((s * cout + o) * oh + y) * ow + z] = relu ? Math.max(0, acc) : acc;
        }
      }
    }
  }
  return { data: out, dims: [n, cout, oh, ow] };
}

/** The values of channel `c` over every sample and position. */
export function channel(t: Dense, c: number): Float64Array {
  const [n, ch, h, w] = t.dims;
  const out = new Float64Array(n * h * w);
  for (let s = 0; s < n; s++) out.set(t.data.subarray((s * ch + c) * h * w, (s * ch + c + 1) * h * w), s * h * w);
  return out;
}

/**
 * PSNR of map `fi` reproduced from map `fj` by the least-squares copy a·fj (+ b when `centered`), with the residual
 * computed explicitly position by position, and the copy's factors.
 */
export function copyPsnr(fi: Float64Array, fj: Float64Array, centered: boolean): { psnr: number; scale: number; offset: number } {
  const n = fi.length;
  const mean = (f: Float64Array) => (centered ? f.reduce((a, b) => a + b, 0) / n : 0);
  const mi = mean(fi);
  const mj = mean(fj);
  let sij = 0;
  let sjj = 0;
  for (let k = 0; k < n; k++) {
    sij += (fi[k] - mi) * (fj[k] - mj);
    sjj += (fj[k] - mj) ** 2;
  }
  const scale = sjj > 0 ? sij / sjj : 0;
  const offset = mi - scale * mj;
  let mse = 0;
  let peak = 0;
  for (let k = 0; k < n; k++) {
    mse += (fi[k] - scale * fj[k] - offset) ** 2;
    peak = Math.max(peak, Math.abs(fi[k]));
  }
  return { psnr: 10 * Math.log10((peak * peak) / (mse / n)), scale, offset };
}
