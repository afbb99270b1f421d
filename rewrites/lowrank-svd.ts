import { truncatedSvd, type Tensor, type TruncatedSvd } from '../src/index.js';

/**
 * The leading `rank` singular triplets of a kernel as a C_out × (C_in·k²) matrix, remembered by the kernel's content:
 * the mixed plan rewrites every layer at each of low-rank's budgets, each time on a fresh copy of the model (the same
 * weights in new tensors). Triplets come out in order, so a lower rank is a prefix of a higher one, and the last
 * MEMORY_BYTES of results are kept.
 */
export function kernelSvd(weight: Tensor, rank: number): TruncatedSvd {
  const [rows, ...rest] = weight.dims;
  const cols = rest.reduce((a, b) => a * b, 1);
  const data = weight.toFloat32();
  const key = `${weight.dims.join('x')}:${fingerprint(data)}`;
  const r = Math.min(rank, rows, cols);
  const known = remembered.get(key);
  if (known && known.s.length >= r) {
    remembered.delete(key);
    remembered.set(key, known);
    return { u: known.u.subarray(0, r * rows), s: known.s.subarray(0, r), v: known.v.subarray(0, r * cols) };
  }
  const svd = truncatedSvd(data, rows, cols, r);
  remembered.set(key, svd);
  const size = (t: TruncatedSvd) => t.u.byteLength + t.s.byteLength + t.v.byteLength;
  let bytes = 0;
  for (const t of remembered.values()) bytes += size(t);
  for (const [k, t] of remembered) {
    if (bytes <= MEMORY_BYTES || k === key) break;
    bytes -= size(t);
    remembered.delete(k);
  }
  return svd;
}

const MEMORY_BYTES = 256 * 2 ** 20;

/** Least recently used first. */
const remembered = new Map<string, TruncatedSvd>();

/** Two 32-bit hashes of the float bits (FNV-1a and a second, mixed differently): a collision needs both to collide. */
function fingerprint(data: Float32Array): string {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let a = 0x811c9dc5, b = 0x01000193;
  for (let i = 0; i < bits.length; i++) {
    a = Math.imul(a ^ bits[i], 0x01000193);
    b = Math.imul(b ^ bits[i], 0x5bd1e995) ^ (b >>> 13);
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}
