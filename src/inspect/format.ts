import { formatCount, formatTable } from '../report/table.js';
import { formatIntake } from '../intake/format.js';
import type { InspectReport, TensorSummary } from './inspect.js';

const shapeText = (s: TensorSummary['shape']) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : 'unknown');
const dims = (d: (number | null)[] | null) => (d ? d.map((x) => x ?? '?').join('×') : '?');

/** The inspect report as a person reads it. */
export function formatInspect(r: InspectReport): string {
  const out: string[] = [];
  out.push(`${r.file ?? 'model'}: IR ${r.irVersion ?? '?'}, opset ${r.opset ?? '?'}${r.producer ? `, produced by ${r.producer}` : ''}`);
  out.push('', 'Inputs:');
  for (const i of r.inputs) out.push(`  ${i.name}  ${i.type} ${shapeText(i.shape)}`);
  out.push('Outputs:');
  for (const o of r.outputs) out.push(`  ${o.name}  ${o.type} ${shapeText(o.shape)}`);
  const ops = Object.entries(r.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  out.push('', `Operators (${r.totals.nodes} nodes): ${ops.map(([op, n]) => `${op} ${n}`).join(', ')}`);
  if (r.convs.length) {
    out.push('', `Conv layers (${r.convs.length}):`);
    const rows = r.convs.map((c) => [
      c.name || c.output,
      `${c.inChannels ?? '?'}→${c.outChannels ?? '?'}`,
      c.kernel.join('×'),
      c.strides.join('×'),
      c.group,
      formatCount(c.params),
      dims(c.outputSize),
      c.macs === null ? '?' : formatCount(c.macs),
    ]);
    out.push(formatTable(['layer', 'channels', 'kernel', 'stride', 'groups', 'params', 'output', 'MACs'], rows));
  }
  out.push(
    '',
    `Totals: ${formatCount(r.totals.params)} parameters (float initializers and Constants), ${formatCount(r.totals.convParams)} in Conv layers, ` +
      `${r.totals.convMacs === null ? '?' : formatCount(r.totals.convMacs)} Conv MACs per sample`,
  );
  if (r.intake) out.push(formatIntake(r.intake));
  return out.join('\n');
}
