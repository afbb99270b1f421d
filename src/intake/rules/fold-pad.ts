import { convGeometry } from '../../ir/conv.js';
import { onnxOpset } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { defineRule, noMatch, type MatchBase, type NoMatch } from '../../rewrite/rule.js';

interface FoldPadMatch extends MatchBase {
  conv: Node;
  pad: Node;
  /** The conv's pads with the Pad's spatial pads added (begin pads, then end pads). */
  pads: number[];
}

/**
 * Pad (constant zeros, spatial axes only) → Conv  ⇒  one Conv with those pads added to its own: a convolution pads
 * with zeros itself, so the result is the same. TensorFlow and Keras exports write "same" padding this way.
 */
export const foldPad = defineRule<FoldPadMatch, Record<string, never>>({
  name: 'fold-pad',
  meta: { description: 'Fold a constant zero Pad of the spatial axes into the Conv after it', ops: ['Conv'], options: {} },

  match(conv, { model }) {
    const [x, w] = conv.inputs;
    const pad = x?.producer;
    if (!x || !pad || pad.opType !== 'Pad' || !pad.isOnnxDomain) return noMatch('the input is not produced by a Pad');
    if (x.uses.length !== 1 || pad.graph?.outputs.includes(x)) return noMatch('the Pad output has other readers');
    const weight = w?.initializer;
    if (!weight) return noMatch('the weight is not a constant');
    const geo = convGeometry(conv, weight.dims);
    if (geo.autoPad !== 'NOTSET') return noMatch(`the conv pads with auto_pad=${geo.autoPad}`);
    const padPads = readPads(pad, (onnxOpset(model) ?? 0) >= 11, weight.dims.length);
    if ('noMatch' in padPads) return padPads;
    const rank = weight.dims.length, n = rank - 2;
    // Conv pads list the n spatial axes (begins, then ends); Pad's list all rank axes, batch and channel first.
    const pads = geo.pads!.map((p, i) => p + (i < n ? padPads[2 + i] : padPads[rank + 2 + (i - n)]));
    return { nodes: [pad, conv], constants: [], conv, pad, pads };
  },

  rewrite(m, b) {
    const [out] = b.copy(m.conv, [m.pad.inputs[0], ...m.conv.inputs.slice(1)], 'conv');
    out.producer!.setAttr('pads', m.pads);
    return { replace: [[m.conv.outputs[0]!, out]] };
  },
});

/** The Pad's pads over all `rank` axes when it pads with zeros and only the spatial axes, or why not. */
function readPads(pad: Node, asInputs: boolean, rank: number): number[] | NoMatch {
  if (pad.getString('mode', 'constant') !== 'constant') return noMatch(`the Pad mode is ${pad.getString('mode', 'constant')}`);
  const [, padsIn, valueIn, axesIn] = pad.inputs;
  if (axesIn) return noMatch('the Pad names its axes');
  const pads = asInputs ? constantNumbers(padsIn) : pad.getInts('pads');
  const value = asInputs ? (valueIn ? constantNumbers(valueIn) : [0]) : [pad.getFloat('value', 0)];
  if (!pads || pads.length !== 2 * rank) return noMatch('the Pad pads are not constant');
  if (!value || value.some((v) => v !== 0)) return noMatch('the Pad value is not a constant zero');
  if (pads.some((p) => p < 0)) return noMatch('the Pad crops (negative pads)');
  if (pads[0] || pads[1] || pads[rank] || pads[rank + 1]) return noMatch('the Pad pads the batch or channel axis');
  return pads;
}

/** The values of a numeric constant (pads, the pad value), or undefined when `v` is not one. */
function constantNumbers(v: Value | null): number[] | undefined {
  const t = v?.isConstant ? v.initializer : undefined;
  return t && !Array.isArray(t.data) ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}
