/**
 * Seeded randomness. Math.random cannot be seeded, and a sample that changes between runs makes compression results
 * impossible to reproduce, so everything random in the tool draws from these.
 */

/** mulberry32: a 32-bit generator, fast and good enough for sampling; same seed, same stream, on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct indices of 0..n-1 drawn with mulberry32(seed), in increasing order (all of them when k >= n). */
export function sampleIndices(n: number, k: number, seed: number): number[] {
  const indices = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(k, n);
  const random = mulberry32(seed);
  // Partial Fisher–Yates: after step i the first i+1 slots are a uniform sample without replacement.
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (n - i));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, take).sort((a, b) => a - b);
}
