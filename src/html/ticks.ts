/** A linear map from data values to pixels. */
export interface Scale {
  (value: number): number;
  ticks: number[];
}

/**
 * A linear scale from [min, max] (widened to round tick values) onto [from, to] pixels, with about `count` ticks at
 * 1, 2 or 5 times a power of ten.
 */
export function linearScale(min: number, max: number, from: number, to: number, count = 5): Scale {
  if (!(max > min)) max = min === 0 ? 1 : min + Math.abs(min);
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  const scale = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  scale.ticks = ticks;
  return scale;
}

/** A tick label: 12000 → "12k", 0.25 → "0.25". */
export function tickLabel(v: number): string {
  if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (Math.abs(v) >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}
