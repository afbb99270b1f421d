/** Interleaved timing: A and B alternate in one run, so machine noise hits both alike; medians, not means. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * With `block` > 1, each turn runs a variant `block` times back to back and records the median of all but the first:
 * the time with warm caches, as in a loop that runs one model over and over (a training loop, a server). Single runs
 * alternating with a bigger model measure a cold cache instead: the student's forward took 17-25 ms that way against
 * 9.5 ms warm.
 */
export async function interleave(variants: Record<string, () => Promise<unknown>>, rounds: number, warmup = 2, block = 1): Promise<Record<string, number[]>> {
  if (!(Number.isInteger(block) && block >= 1)) throw new Error(`expected block to be a positive integer, found ${block}`);
  const names = Object.keys(variants);
  for (let i = 0; i < warmup; i++) for (const n of names) await variants[n]();
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const runs: number[] = [];
      for (let i = 0; i < block; i++) {
        const t0 = performance.now();
        await variants[n]();
        runs.push(performance.now() - t0);
      }
      times[n].push(block > 1 ? median(runs.slice(1)) : runs[0]);
    }
  }
  return times;
}
