import { formatCount } from '../report/table.js';

/** 1234567 → "1,234,567". */
export const count = formatCount;

/** A number to `digits` decimals; +∞ as "∞" (an exact output), absent as "". */
export function decimals(x: number | null | undefined, digits: number): string {
  if (x === null || x === undefined) return '';
  return Number.isFinite(x) ? x.toFixed(digits) : x > 0 ? '∞' : '−∞';
}

/** 0.9375 → "93.8%". */
export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
