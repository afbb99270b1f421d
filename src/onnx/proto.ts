/** The ONNX protobuf schema (onnx-proto, ONNX 1.10). Only src/onnx/ imports this: the rest of the tool sees the IR. */
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';

type LongLike = { low: number; high: number; unsigned?: boolean };

/** protobufjs hands 64-bit integers as Long; keep them exact: number when safe, bigint beyond. */
export function fromLong(v: number | LongLike | null | undefined, unsigned = false): number | bigint {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  const exact = unsigned || v.unsigned ? big : BigInt.asIntN(64, big);
  return exact >= BigInt(Number.MIN_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(exact) : exact;
}

export function toLong(v: number | bigint, unsigned = false): LongLike {
  const big = BigInt.asUintN(64, BigInt(v));
  return { low: Number(big & 0xffffffffn) | 0, high: Number(big >> 32n) | 0, unsigned };
}

export function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}
