import { ftmError } from '../errors.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { Value, ValueType } from './value.js';

/** AttributeProto.AttributeType. */
export const AttrType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** 64-bit integers are numbers when they fit exactly, bigint otherwise (e.g. Slice's INT64_MAX ends). */
export type Int = number | bigint;

export type AttributeValue =
  | number
  | Int
  | Uint8Array
  | Tensor
  | Graph
  | ValueType
  | number[]
  | Int[]
  | Uint8Array[]
  | Tensor[]
  | Graph[]
  | ValueType[]
  /** Sparse tensors are carried through as decoded protobuf messages: no rule reads them. */
  | unknown;

export interface Attribute {
  name: string;
  type: number;
  value: AttributeValue;
  docString?: string;
  /** Set inside function bodies: the attribute refers to the function's attribute of that name. */
  refAttrName?: string;
  /** False when the model left AttributeProto.type unset (IR < 2); kept so the file round-trips exactly. */
  typeDeclared?: boolean;
}

/** A plain attribute value given by a rule or a test; its AttrType is inferred. */
export type AttrInit =
  | number
  | bigint
  | string
  | number[]
  | bigint[]
  | string[]
  | Tensor
  | Graph
  /** Forces FLOAT/FLOATS where a plain number would read as an integer (`{ float: 1 }`). */
  | { float: number }
  | { floats: number[] };

export class Node {
  opType: string;
  domain: string | undefined;
  name: string | undefined;
  docString: string | undefined;
  attributes: Attribute[];
  /** Omitted optional inputs/outputs are null (an empty name in the file). */
  readonly inputs: (Value | null)[] = [];
  readonly outputs: (Value | null)[] = [];
  graph: Graph | undefined;

  constructor(opType: string, attributes: Attribute[] = [], name?: string, domain?: string) {
    this.opType = opType;
    this.attributes = attributes;
    this.name = name;
    this.domain = domain;
    this.docString = undefined;
  }

  /** Human label for messages: `Conv "layer1/conv"`. */
  get label(): string {
    return this.name ? `${this.opType} "${this.name}"` : `${this.opType} (unnamed, output "${this.outputs[0]?.name ?? ''}")`;
  }

  get isOnnxDomain(): boolean {
    return this.domain === undefined || this.domain === '' || this.domain === 'ai.onnx';
  }

  /** Connects input slot `index` to `value`, keeping both values' use lists right. */
  setInput(index: number, value: Value | null): void {
    const old = this.inputs[index];
    if (old) {
      const at = old.uses.findIndex((u) => u.node === this && u.index === index);
      if (at >= 0) old.uses.splice(at, 1);
    }
    this.inputs[index] = value;
    if (value) value.uses.push({ node: this, index });
  }

  attr(name: string): Attribute | undefined {
    return this.attributes.find((a) => a.name === name);
  }

  getInt(name: string, fallback: number): number;
  getInt(name: string): number | undefined;
  getInt(name: string, fallback?: number): number | undefined {
    const a = this.attr(name);
    if (!a) return fallback;
    if (a.type !== AttrType.INT) throw this.attrTypeError(a, 'INT');
    return Number(a.value as Int);
  }

  getInts(name: string, fallback: number[]): number[];
  getInts(name: string): number[] | undefined;
  getInts(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attr(name);
    if (!a) return fallback;
    if (a.type !== AttrType.INTS) throw this.attrTypeError(a, 'INTS');
    return (a.value as Int[]).map(Number);
  }

  getFloat(name: string, fallback: number): number {
    const a = this.attr(name);
    if (!a) return fallback;
    if (a.type !== AttrType.FLOAT) throw this.attrTypeError(a, 'FLOAT');
    return a.value as number;
  }

  getString(name: string, fallback: string): string {
    const a = this.attr(name);
    if (!a) return fallback;
    if (a.type !== AttrType.STRING) throw this.attrTypeError(a, 'STRING');
    return new TextDecoder().decode(a.value as Uint8Array);
  }

  getTensor(name: string): Tensor | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.type !== AttrType.TENSOR) throw this.attrTypeError(a, 'TENSOR');
    return a.value as Tensor;
  }

  /** Graphs held in attributes (If branches, Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes) {
      if (a.type === AttrType.GRAPH) out.push(a.value as Graph);
      else if (a.type === AttrType.GRAPHS) out.push(...(a.value as Graph[]));
    }
    return out;
  }

  setAttr(name: string, value: AttrInit): void {
    const attr = makeAttribute(name, value);
    const at = this.attributes.findIndex((a) => a.name === name);
    if (at >= 0) this.attributes[at] = attr;
    else this.attributes.push(attr);
  }

  private attrTypeError(a: Attribute, expected: string): Error {
    return ftmError('E_GRAPH_INVALID', `attribute "${a.name}" should be ${expected}, found type ${a.type}`, this.label);
  }
}

/**
 * How users, reports and the driver name a node (`--layers`, records, plans): its name, else its first output's name,
 * else its op type.
 */
export const nodeKey = (n: Node): string => n.name || n.outputs[0]?.name || n.opType;

export function makeAttribute(name: string, value: AttrInit): Attribute {
  const enc = (s: string) => new TextEncoder().encode(s);
  if (typeof value === 'string') return { name, type: AttrType.STRING, value: enc(value) };
  if (typeof value === 'bigint') return { name, type: AttrType.INT, value };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttrType.INT, value } : { name, type: AttrType.FLOAT, value };
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') return { name, type: AttrType.STRINGS, value: (value as string[]).map(enc) };
    if ((value as (number | bigint)[]).every((v) => typeof v === 'bigint' || Number.isInteger(v))) return { name, type: AttrType.INTS, value };
    return { name, type: AttrType.FLOATS, value };
  }
  if ('float' in value) return { name, type: AttrType.FLOAT, value: value.float };
  if ('floats' in value) return { name, type: AttrType.FLOATS, value: value.floats };
  if ('dims' in value) return { name, type: AttrType.TENSOR, value };
  return { name, type: AttrType.GRAPH, value };
}
