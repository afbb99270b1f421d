import { mulberry32 } from '../../src/calib/random.js';
import { copyToField, encodeMessage, fieldPaths, parseMessage, type WireField } from './protowire.js';

export const MUTATIONS = ['flip', 'truncate', 'delete', 'duplicate', 'varint', 'splice'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Values that break assumptions: zero, small enum values, negative (10-byte varints), past 32 and 53 bits. */
const VARINTS = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 9n, 10n, 11n, 13n, 14n, 15n, 16n, 255n, 2n ** 31n, 2n ** 32n + 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -2n];

/**
 * Mutants of one protobuf file. Byte flips and cuts are blind; the others act on whole protobuf fields at any depth
 * (remove one, repeat one, set a varint, put another field's bytes in its place), so lengths stay consistent and the
 * decoder gets past the wire format into the schema.
 */
export class Mutator {
  private readonly tree: WireField[];
  private readonly paths: number[][];
  private readonly varints: number[][];

  constructor(private readonly bytes: Uint8Array) {
    const tree = parseMessage(bytes);
    if (!tree) throw new Error('not a protobuf message');
    this.tree = tree;
    this.paths = fieldPaths(tree);
    this.varints = this.paths.filter((p) => this.fieldAt(p).wire === 0);
  }

  /** The mutant of this kind drawn from `seed`: the same on every machine. */
  mutant(kind: Mutation, seed: number): Uint8Array {
    const rand = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    if (kind === 'flip') {
      const out = this.bytes.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) out[Math.floor(rand() * out.length)] ^= 1 + Math.floor(rand() * 255);
      return out;
    }
    if (kind === 'truncate') return this.bytes.slice(0, 1 + Math.floor(rand() * (this.bytes.length - 1)));
    const path = pick(kind === 'varint' && this.varints.length ? this.varints : this.paths);
    const { tree, list, index } = copyToField(this.tree, path);
    const f = list[index];
    if (kind === 'delete') list.splice(index, 1);
    else if (kind === 'duplicate') list.splice(index, 0, f);
    else if (kind === 'varint') list[index] = { field: f.field, wire: 0, value: pick(VARINTS) };
    else list[index] = { ...this.fieldAt(pick(this.paths)), field: f.field };
    return encodeMessage(tree);
  }

  private fieldAt(path: number[]): WireField {
    let f = this.tree[path[0]];
    for (const i of path.slice(1)) f = f.children![i];
    return f;
  }
}
