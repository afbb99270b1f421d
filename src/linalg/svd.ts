import { symmetricEigen } from './eigen.js';

/** The leading `rank` singular triplets of a rows×cols matrix (row-major): M ≈ Σ_k s_k · u_k v_kᵀ. */
export interface TruncatedSvd {
  /** rank × rows, each row a left singular vector. */
  u: Float64Array;
  s: Float64Array;
  /** rank × cols, each row a right singular vector. */
  v: Float64Array;
}

/**
 * Works on the smaller Gram matrix (MᵀM or MMᵀ), so the cost follows min(rows, cols). The matrix is read as A, small ×
 * large (M, or Mᵀ copied once), so every product below runs along contiguous rows.
 */
export function truncatedSvd(m: ArrayLike<number>, rows: number, cols: number, rank: number): TruncatedSvd {
  const byCols = cols <= rows;
  const [small, large] = byCols ? [cols, rows] : [rows, cols];
  const r = Math.min(rank, small);
  const a = new Float64Array(small * large);
  if (byCols) for (let k = 0; k < rows; k++) for (let i = 0; i < cols; i++) a[i * rows + k] = m[k * cols + i];
  else a.set(m);
  const gram = new Float64Array(small * small);
  for (let i = 0; i < small; i++) {
    const ai = a.subarray(i * large, (i + 1) * large);
    for (let j = i; j < small; j++) {
      let acc = 0;
      for (let k = 0, off = j * large; k < large; k++) acc += ai[k] * a[off + k];
      gram[i * small + j] = gram[j * small + i] = acc;
    }
  }
  const { values, vectors } = symmetricEigen(gram, small);
  const known = new Float64Array(r * small), other = new Float64Array(r * large), s = new Float64Array(r);
  for (let k = 0; k < r; k++) {
    const sigma = Math.sqrt(Math.max(values[k], 0));
    s[k] = sigma;
    known.set(vectors.subarray(k * small, (k + 1) * small), k * small);
    // the other side's vector is Aᵀ·known/σ; a zero singular value leaves it zero
    if (sigma === 0) continue;
    const out = other.subarray(k * large, (k + 1) * large);
    for (let i = 0; i < small; i++) {
      const f = known[k * small + i] / sigma;
      if (f !== 0) for (let j = 0, off = i * large; j < large; j++) out[j] += f * a[off + j];
    }
  }
  return byCols ? { u: other, s, v: known } : { u: known, s, v: other };
}
