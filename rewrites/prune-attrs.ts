import { AttrType, noMatch, type AttrInit, type NoMatch, type Node, type Tensor } from '../src/index.js';

type Int = number | bigint;

/**
 * A node's attributes as the Builder takes them, so that a rule can emit a copy of a node it does not otherwise know
 * (`b.op(node.opType, inputs, attrInits(node))`). Graph-valued and sparse attributes are not copied: they decline.
 */
export function attrInits(node: Node): Record<string, AttrInit> | NoMatch {
  const out: Record<string, AttrInit> = {};
  for (const a of node.attributes) {
    switch (a.type) {
      case AttrType.INT:
        out[a.name] = a.value as Int;
        break;
      case AttrType.FLOAT:
        out[a.name] = { float: a.value as number };
        break;
      case AttrType.STRING:
        out[a.name] = new TextDecoder().decode(a.value as Uint8Array);
        break;
      case AttrType.INTS: {
        const ints = a.value as Int[];
        out[a.name] = ints.some((i) => typeof i === 'bigint') ? ints.map((i) => BigInt(i)) : (ints as number[]);
        break;
      }
      case AttrType.FLOATS:
        out[a.name] = { floats: a.value as number[] };
        break;
      case AttrType.TENSOR:
        out[a.name] = (a.value as Tensor).clone();
        break;
      default:
        return noMatch(`${node.label} has attribute "${a.name}" of type ${a.type}, which the rule cannot copy`);
    }
  }
  return out;
}
