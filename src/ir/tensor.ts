import { ftmError } from '../errors.js';
import { DataType, dtypeInfo, dtypeName, type NumericArray, type TensorData } from './dtype.js';

/** Where a tensor's bytes came from, so that saving writes them back the same way. */
export type TensorStorage = 'raw' | 'fields';

/**
 * A constant tensor: an initializer, a Constant's value, an attribute. The data is decoded lazily from the bytes it was
 * loaded with; once `data` has been read, the decoded array is the truth (callers may edit it in place).
 */
export class Tensor {
  name: string | undefined;
  dataType: number;
  dims: number[];
  docString: string | undefined;
  storage: TensorStorage;
  /** Fields of TensorProto the tool never interprets (segment), carried through untouched. */
  segment: unknown;
  private raw: Uint8Array | undefined;
  private values: TensorData | undefined;

  constructor(init: {
    name?: string;
    dataType: number;
    dims: readonly number[];
    data?: TensorData;
    raw?: Uint8Array;
    storage?: TensorStorage;
    docString?: string;
    segment?: unknown;
  }) {
    this.name = init.name;
    this.dataType = init.dataType;
    this.dims = [...init.dims];
    this.docString = init.docString;
    this.storage = init.storage ?? (init.dataType === DataType.STRING ? 'fields' : 'raw');
    this.segment = init.segment;
    this.raw = init.raw;
    this.values = init.data;
    if (this.raw === undefined && this.values === undefined) this.values = emptyData(init.dataType, this.size);
  }

  static float32(dims: readonly number[], data: ArrayLike<number>, name?: string): Tensor {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw ftmError('E_TENSOR', `expected ${size} values for dims [${dims.join(', ')}], found ${data.length}`, name);
    }
    return new Tensor({ name, dataType: DataType.FLOAT, dims, data: Float32Array.from(data) });
  }

  static int64(dims: readonly number[], data: ArrayLike<number | bigint>, name?: string): Tensor {
    return new Tensor({ name, dataType: DataType.INT64, dims, data: BigInt64Array.from(data, (v) => BigInt(v)) });
  }

  /** Number of elements. */
  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** Bytes the data occupies in raw form (strings: their byte lengths). */
  get byteLength(): number {
    if (this.dataType === DataType.STRING) return (this.data as Uint8Array[]).reduce((n, s) => n + s.length, 0);
    if (this.values === undefined && this.raw !== undefined) return this.raw.length;
    return this.size * (dtypeInfo(this.dataType)?.bytes ?? 0);
  }

  get data(): TensorData {
    if (this.values === undefined) {
      this.values = decodeRaw(this.raw!, this.dataType, this.size, this.name);
      this.raw = undefined;
    }
    return this.values;
  }

  set data(values: TensorData) {
    this.values = values;
    this.raw = undefined;
  }

  /** The data as float32 (a copy for non-float32 numeric types). */
  toFloat32(): Float32Array {
    const d = this.data;
    if (d instanceof Float32Array && this.dataType === DataType.FLOAT) return d;
    if (Array.isArray(d) || this.dataType === DataType.FLOAT16 || this.dataType === DataType.BFLOAT16) {
      throw ftmError('E_UNSUPPORTED', `expected a numeric tensor, found ${dtypeName(this.dataType)}`, this.name);
    }
    return Float32Array.from(d as ArrayLike<number | bigint>, Number);
  }

  /** The bytes of the data in raw_data layout (little-endian). */
  rawBytes(): Uint8Array {
    if (this.raw !== undefined) return this.raw;
    const d = this.data;
    if (Array.isArray(d)) throw ftmError('E_TENSOR', 'string tensors have no raw form', this.name);
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }

  clone(name = this.name): Tensor {
    const init = { name, dataType: this.dataType, dims: this.dims, storage: this.storage, docString: this.docString, segment: this.segment };
    // Bytes not yet decoded are copied as bytes: decoding is left to a reader, and types the tool cannot decode copy too.
    if (this.values === undefined) return new Tensor({ ...init, raw: this.raw!.slice() });
    const d = this.data;
    const copy = Array.isArray(d) ? d.map((s) => s.slice()) : (d.slice() as NumericArray);
    return new Tensor({ ...init, data: copy });
  }
}

function emptyData(dataType: number, size: number): TensorData {
  if (dataType === DataType.STRING) return Array.from({ length: size }, () => new Uint8Array(0));
  const info = dtypeInfo(dataType);
  if (!info?.array) return new Uint8Array(0);
  return new info.array(size * info.slotsPerElement);
}

function decodeRaw(raw: Uint8Array, dataType: number, size: number, name: string | undefined): TensorData {
  const info = dtypeInfo(dataType);
  if (!info?.array) throw ftmError('E_TENSOR', `cannot decode raw data of element type ${dtypeName(dataType)}`, name);
  if (raw.length !== size * info.bytes) {
    throw ftmError('E_TENSOR', `expected ${size * info.bytes} bytes of raw data for ${size} ${info.name} values, found ${raw.length}`, name);
  }
  // Copy into a fresh, aligned buffer: raw_data slices of a protobuf buffer are rarely aligned for wide types.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  return new info.array(copy.buffer, 0, size * info.slotsPerElement);
}
