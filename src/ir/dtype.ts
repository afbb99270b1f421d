/** ONNX element types (TensorProto.DataType, ONNX 1.10) and how each one is held in memory. */

export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Strings are kept as the raw bytes ONNX stores (not necessarily UTF-8). */
export type TensorData = NumericArray | Uint8Array[];

interface DTypeInfo {
  name: string;
  /** Bytes per element in raw_data (complex types count both parts). */
  bytes: number;
  /** Typed array holding one element per slot; complex types use two slots per element. */
  array?: { new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericArray; new (length: number): NumericArray; BYTES_PER_ELEMENT: number };
  slotsPerElement: number;
  /** The TensorProto repeated field used when the data is not in raw_data. */
  field: 'floatData' | 'int32Data' | 'stringData' | 'int64Data' | 'doubleData' | 'uint64Data';
}

const INFO: Record<number, DTypeInfo> = {
  [DataType.FLOAT]: { name: 'float32', bytes: 4, array: Float32Array, slotsPerElement: 1, field: 'floatData' },
  [DataType.UINT8]: { name: 'uint8', bytes: 1, array: Uint8Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.INT8]: { name: 'int8', bytes: 1, array: Int8Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.UINT16]: { name: 'uint16', bytes: 2, array: Uint16Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.INT16]: { name: 'int16', bytes: 2, array: Int16Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.INT32]: { name: 'int32', bytes: 4, array: Int32Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.INT64]: { name: 'int64', bytes: 8, array: BigInt64Array, slotsPerElement: 1, field: 'int64Data' },
  [DataType.STRING]: { name: 'string', bytes: 0, slotsPerElement: 1, field: 'stringData' },
  [DataType.BOOL]: { name: 'bool', bytes: 1, array: Uint8Array, slotsPerElement: 1, field: 'int32Data' },
  // 16-bit floats stay as their raw bit patterns: nothing in the tool computes with them.
  [DataType.FLOAT16]: { name: 'float16', bytes: 2, array: Uint16Array, slotsPerElement: 1, field: 'int32Data' },
  [DataType.DOUBLE]: { name: 'float64', bytes: 8, array: Float64Array, slotsPerElement: 1, field: 'doubleData' },
  [DataType.UINT32]: { name: 'uint32', bytes: 4, array: Uint32Array, slotsPerElement: 1, field: 'uint64Data' },
  [DataType.UINT64]: { name: 'uint64', bytes: 8, array: BigUint64Array, slotsPerElement: 1, field: 'uint64Data' },
  [DataType.COMPLEX64]: { name: 'complex64', bytes: 8, array: Float32Array, slotsPerElement: 2, field: 'floatData' },
  [DataType.COMPLEX128]: { name: 'complex128', bytes: 16, array: Float64Array, slotsPerElement: 2, field: 'doubleData' },
  [DataType.BFLOAT16]: { name: 'bfloat16', bytes: 2, array: Uint16Array, slotsPerElement: 1, field: 'int32Data' },
};

export function dtypeInfo(dataType: number): DTypeInfo | undefined {
  return INFO[dataType];
}

export function dtypeName(dataType: number | undefined): string {
  if (dataType === undefined) return '?';
  return INFO[dataType]?.name ?? `type${dataType}`;
}

export function isFloatType(dataType: number | undefined): boolean {
  return (
    dataType === DataType.FLOAT ||
    dataType === DataType.DOUBLE ||
    dataType === DataType.FLOAT16 ||
    dataType === DataType.BFLOAT16
  );
}
