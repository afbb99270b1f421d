/**
 * Protobuf wire format as a tree, for fuzzing: a message is a list of fields; a length-delimited field whose bytes
 * parse back to exactly themselves as a message is kept as its sub-fields (a string or packed array that happens to
 * parse is harmless: it is written back byte for byte). Knows nothing about ONNX, so mutations are blind to schema.
 */
export interface WireField {
  field: number;
  /** 0 varint, 1 fixed 64, 2 length-delimited, 5 fixed 32. */
  wire: number;
  /** Varint value, fixed bytes, or length-delimited bytes that did not parse as a message. */
  value: bigint | Uint8Array;
  children?: WireField[];
  /** Set on a copy whose children changed: its bytes must be encoded again. */
  edited?: boolean;
}

const MAX_DEPTH = 24;

export function parseMessage(bytes: Uint8Array, depth = 0): WireField[] | undefined {
  const fields: WireField[] = [];
  let pos = 0;
  const varint = (): bigint | undefined => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const tag = varint();
    if (tag === undefined || tag >> 3n === 0n || tag >> 3n > 536870911n) return undefined;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      fields.push({ field, wire, value: v });
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > bytes.length) return undefined;
      fields.push({ field, wire, value: bytes.slice(pos, pos + n) });
      pos += n;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || pos + Number(len) > bytes.length) return undefined;
      const value = bytes.slice(pos, pos + Number(len));
      pos += Number(len);
      const children = depth < MAX_DEPTH && value.length > 0 ? parseMessage(value, depth + 1) : undefined;
      const exact = children !== undefined && equalBytes(encodeMessage(children), value);
      fields.push({ field, wire, value, ...(exact ? { children } : {}) });
    } else {
      return undefined;
    }
  }
  return fields;
}

/** Writes fields back; a sub-message is re-encoded only when `edited` (a mutation changed something inside it). */
export function encodeMessage(fields: WireField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(varint((BigInt(f.field) << 3n) | BigInt(f.wire)));
    if (f.wire === 0) parts.push(varint(f.value as bigint));
    else if (f.wire === 2) {
      const bytes = f.children && f.edited ? encodeMessage(f.children) : (f.value as Uint8Array);
      parts.push(varint(BigInt(bytes.length)), bytes);
    } else parts.push(f.value as Uint8Array);
  }
  return Buffer.concat(parts);
}

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

/** Where each field of the tree is: the indices from the top message down to it. */
export function fieldPaths(fields: WireField[], prefix: number[] = [], into: number[][] = []): number[][] {
  fields.forEach((f, i) => {
    into.push([...prefix, i]);
    if (f.children) fieldPaths(f.children, [...prefix, i], into);
  });
  return into;
}

/**
 * A copy of the tree in which the list holding the field at `path` can be changed: the lists and fields on the way
 * down are copied (and marked edited), the rest is shared. Returns the copy, the list and the field's index in it.
 */
export function copyToField(tree: WireField[], path: number[]): { tree: WireField[]; list: WireField[]; index: number } {
  const top = [...tree];
  let list = top;
  for (const i of path.slice(0, -1)) {
    const f: WireField = { ...list[i], edited: true, children: [...list[i].children!] };
    list[i] = f;
    list = f.children!;
  }
  return { tree: top, list, index: path[path.length - 1] };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
