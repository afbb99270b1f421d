/**
 * Straightforward NCHW reference computations for checking what onnxruntime computes: loops, float64, no cleverness.
 */
export interface Nchw {
  data: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export const nchw = (data: ArrayLike<number>, n: number, c: number, h: number, w: number): Nchw => ({ data: Float64Array.from(data), n, c, h, w });

const at = (t: Nchw, n: number, c: number, y: number, x: number) => t.data[((n * t.c + c) * t.h + y) * t.w + x];

export function conv2d(
  x: Nchw,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  cout: number,
  k: [number, number],
  o: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number } = {},
): Nchw {
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const group = o.group ?? 1;
  const cinG = x.c / group, coutG = cout / group;
  const h = Math.floor((x.h + pt + pb - dh * (k[0] - 1) - 1) / sh) + 1;
  const w = Math.floor((x.w + pl + pr - dw * (k[1] - 1) - 1) / sw) + 1;
  const out = new Float64Array(x.n * cout * h * w);
  for (let n = 0; n < x.n; n++)
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++) {
          let acc = bias ? bias[co] : 0;
          for (let ci = 0; ci < cinG; ci++)
            for (let ky = 0; ky < k[0]; ky++)
              for (let kx = 0; kx < k[1]; kx++) {
                const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
                acc += weight[((co * cinG + ci) * k[0] + ky) * k[1] + kx] * at(x, n, g * cinG + ci, iy, ix);
              }
          out[((n * cout + co) * h + oy) * w + ox] = acc;
        }
    }
  return { data: out, n: x.n, c: cout, h, w };
}

/** Largest |a − b| relative to the largest |b|. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (scale || 1);
}
