/** Interleaved timing: A and B alternate in one run, so machine noise hits both alike; medians, not means. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function interleave(variants: Record<string, () => Promise<unknown>>, rounds: number, warmup = 2): Promise<Record<string, number[]>> {
  const names = Object.keys(variants);
  for (let i = 0; i < warmup; i++) for (const n of names) await variants[n]();
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      await variants[n]();
      times[n].push(performance.now() - t0);
    }
  }
  return times;
}
