import { dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { AttrType, type Attribute, type Int } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';

/**
 * A graph as stable, readable text: inputs, initializers (dims only), one line per node with its attributes, outputs.
 * Golden tests compare this text, so it shows structure, never weight values.
 */
export function printGraph(graph: Graph): string {
  const lines: string[] = [];
  const shape = (s: (number | string | null)[] | undefined) => (s ? `[${s.map((d) => d ?? '?').join(',')}]` : '');
  for (const v of graph.inputs) lines.push(`input ${v.name}: ${dtypeName(v.elemType)}${shape(v.shape)}`);
  for (const v of graph.initializers) lines.push(`init ${v.name}: ${dtypeName(v.initializer!.dataType)}[${v.initializer!.dims.join(',')}]`);
  for (const n of graph.nodes) {
    const attrs = n.attributes.map(attrText).join(', ');
    const ins = n.inputs.map((v) => v?.name ?? '').join(', ');
    const outs = n.outputs.map((v) => v?.name ?? '').join(', ');
    lines.push(`${outs} = ${n.opType}(${ins})${attrs ? ` {${attrs}}` : ''}${n.name ? `  # ${n.name}` : ''}`);
  }
  for (const v of graph.outputs) lines.push(`output ${v.name}: ${dtypeName(v.elemType)}${shape(v.shape)}`);
  return `${lines.join('\n')}\n`;
}

function attrText(a: Attribute): string {
  const v = a.value;
  switch (a.type) {
    case AttrType.INTS:
      return `${a.name}=[${(v as Int[]).join(',')}]`;
    case AttrType.FLOATS:
      return `${a.name}=[${(v as number[]).join(',')}]`;
    case AttrType.STRING:
      return `${a.name}="${new TextDecoder().decode(v as Uint8Array)}"`;
    case AttrType.TENSOR:
      return `${a.name}=tensor[${(v as Tensor).dims.join(',')}]`;
    case AttrType.GRAPH:
      return `${a.name}=graph`;
    default:
      return `${a.name}=${String(v)}`;
  }
}
