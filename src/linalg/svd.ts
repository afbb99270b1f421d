import { symmetricEigen } from './eigen.js';

/** The leading `rank` singular triplets of a rows×cols matrix (row-major): M ≈ Σ_k s_k · u_k v_kᵀ. */
export interface TruncatedSvd {
  /** rank × rows, each row a left singular vector. */
  u: Float64Array;
  s: Float64Array;
  /** rank × cols, each row a right singular vector. */
  v: Float64Array;
}

/** Works on the smaller Gram matrix (MᵀM or MMᵀ), so the cost follows min(rows, cols). */
export function truncatedSvd(m: ArrayLike<number>, rows: number, cols: number, rank: number): TruncatedSvd {
  const small = Math.min(rows, cols);
  const r = Math.min(rank, small);
  const byCols = cols <= rows;
  const gram = new Float64Array(small * small);
  for (let i = 0; i < small; i++) {
    for (let j = i; j < small; j++) {
      let acc = 0;
      if (byCols) for (let k = 0; k < rows; k++) acc += m[k * cols + i] * m[k * cols + j];
      else for (let k = 0; k < cols; k++) acc += m[i * cols + k] * m[j * cols + k];
      gram[i * small + j] = gram[j * small + i] = acc;
    }
  }
  const { values, vectors } = symmetricEigen(gram, small);
  const u = new Float64Array(r * rows), s = new Float64Array(r), v = new Float64Array(r * cols);
  for (let k = 0; k < r; k++) {
    const sigma = Math.sqrt(Math.max(values[k], 0));
    s[k] = sigma;
    const known = byCols ? v : u, other = byCols ? u : v;
    const knownLen = byCols ? cols : rows, otherLen = byCols ? rows : cols;
    for (let i = 0; i < knownLen; i++) known[k * knownLen + i] = vectors[k * small + i];
    // the other side's vector is M·v/σ (or Mᵀ·u/σ); a zero singular value leaves it zero
    if (sigma === 0) continue;
    for (let i = 0; i < otherLen; i++) {
      let acc = 0;
      for (let j = 0; j < knownLen; j++) acc += (byCols ? m[i * cols + j] : m[j * cols + i]) * known[k * knownLen + j];
      other[k * otherLen + i] = acc / sigma;
    }
  }
  return { u, s, v };
}
