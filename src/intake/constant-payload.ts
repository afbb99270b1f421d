import { ftmError } from '../errors.js';
import { AttrType, type Attribute, type Int, type Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';

/** The payload attributes a Constant may carry (exactly one of them), with the attribute type each must have. */
const PAYLOADS: Record<string, number> = {
  value: AttrType.TENSOR,
  value_float: AttrType.FLOAT,
  value_floats: AttrType.FLOATS,
  value_int: AttrType.INT,
  value_ints: AttrType.INTS,
  value_string: AttrType.STRING,
  value_strings: AttrType.STRINGS,
  sparse_value: AttrType.SPARSE_TENSOR,
};

/**
 * The tensor a Constant node holds; undefined for a sparse or string payload, which stays a node (no rule reads those).
 * A Constant without exactly one well-typed payload is not a valid model: a typed error naming the node.
 */
export function constantPayload(node: Node): Tensor | undefined {
  const payloads = node.attributes.filter((a) => a.name in PAYLOADS);
  const expected = `exactly one of ${Object.keys(PAYLOADS).join(', ')}`;
  if (payloads.length !== 1) {
    const found = payloads.length ? payloads.map((a) => a.name).join(' and ') : `no payload attribute${node.attributes.length ? ` (only ${node.attributes.map((a) => a.name).join(', ')})` : ''}`;
    throw ftmError('E_GRAPH_INVALID', `a Constant needs ${expected}, found ${found}`, node.label);
  }
  const a = payloads[0];
  if (a.type !== PAYLOADS[a.name]) {
    throw ftmError('E_GRAPH_INVALID', `Constant attribute "${a.name}" should have attribute type ${PAYLOADS[a.name]}, found type ${a.type}`, node.label);
  }
  return toTensor(a);
}

function toTensor(a: Attribute): Tensor | undefined {
  switch (a.name) {
    case 'value':
      return a.value as Tensor;
    case 'value_float':
      return Tensor.float32([], [a.value as number]);
    case 'value_floats':
      return Tensor.float32([(a.value as number[]).length], a.value as number[]);
    case 'value_int':
      return Tensor.int64([], [a.value as Int]);
    case 'value_ints':
      return Tensor.int64([(a.value as Int[]).length], a.value as Int[]);
    default:
      return undefined;
  }
}
