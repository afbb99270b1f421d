import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { Runner, type FloatTensor } from '../runtime/session.js';
import { cloneModel } from '../ir/clone.js';

/**
 * A copy of `model` that starts from the values `from` (made graph inputs, whatever computed them is dropped) and
 * ends at the values `to`: one segment of a forward pass. Batch dims are left to onnxruntime.
 */
export function segmentModel(model: Model, from: readonly string[], to: readonly string[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const inputs: Value[] = [];
  for (const name of from) {
    const v = g.lookup(name);
    if (!v) throw ftmError('E_RULE', `cannot start a segment at "${name}": the model has no such value`, model.path);
    if (!v.producer) {
      inputs.push(v);
      continue;
    }
    const input = g.newValue(`${name}/segment`, { kind: 'tensor', elemType: v.elemType ?? 1 });
    g.replaceAllUses(v, input);
    g.rename(v, g.freshName(`${name}/computed`));
    g.rename(input, name);
    inputs.push(input);
  }
  g.inputs = inputs;
  g.outputs = to.map((name) => g.lookup(name)!);
  for (const v of g.inputs) if (v.type?.kind === 'tensor' && v.type.shape?.length) v.type = { ...v.type, shape: [{ param: 'batch' }, ...v.type.shape.slice(1)] };
  g.valueInfo = [];
  removeDeadNodes(g);
  return copy;
}

/**
 * A forward pass over the calibration set carried out segment by segment: it keeps, per batch, the activations that
 * later nodes still read (the frontier), so that asking for values further down the graph runs only the nodes in
 * between. Layer-by-layer fitting then costs about one pass of the model in all, not one per layer; `model` may
 * change between segments (fitted weights) as long as nodes already run are not affected.
 */
export class SegmentedRun {
  private readonly position: Map<string, number>;
  private readonly lastUse: Map<string, number>;
  /** Per batch, the frontier's tensors by value name. */
  private frontier: Map<string, FloatTensor>[] = [];
  private cut = -1;
  private started = false;

  constructor(
    private readonly model: Model,
    private readonly calib: CalibrationSet,
    private readonly options: { threads?: number; batchSize: number },
    /** Values the caller will ask for later: kept in the frontier until released. */
    private readonly wanted: Set<string>,
  ) {
    const nodes = model.graph.nodes;
    this.position = new Map();
    this.lastUse = new Map();
    nodes.forEach((n, i) => {
      for (const v of n.outputs) if (v) this.position.set(v.name, i);
      for (const v of n.inputs) if (v) this.lastUse.set(v.name, i);
    });
  }

  /**
   * Bytes the frontier holds at most over the run (values computed and still read later, for the whole calibration
   * set), from per-sample element counts; undefined when a count is unknown.
   */
  peakFrontierBytes(elementsPerSample: (name: string) => number | undefined): number | undefined {
    let peak = 0;
    for (let i = 0; i < this.model.graph.nodes.length; i++) {
      let live = 0;
      for (const [n, p] of this.position) {
        if (p > i || ((this.lastUse.get(n) ?? -1) <= i && !this.wanted.has(n))) continue;
        const size = elementsPerSample(n);
        if (size === undefined) return undefined;
        live += size;
      }
      peak = Math.max(peak, live);
    }
    return peak * this.calib.count * 4;
  }

  /** Runs forward until every value of `names` is known; returns them, per batch. */
  async get(names: readonly string[]): Promise<FloatTensor[][]> {
    if (!this.started) await this.start();
    const target = Math.max(...names.map((n) => this.position.get(n) ?? -1));
    if (target > this.cut) await this.advance(target);
    return this.frontier.map((batch) =>
      names.map((n) => {
        const t = batch.get(n);
        if (!t) throw ftmError('E_RULE', `"${n}" is no longer available in the segmented run (it was computed before and released)`, this.model.path);
        return t;
      }),
    );
  }

  /** The caller is done with these values: they leave the frontier unless later nodes still read them. */
  release(names: readonly string[]): void {
    for (const n of names) this.wanted.delete(n);
    this.prune();
  }

  private async start(): Promise<void> {
    this.started = true;
    for await (const batch of this.calib.batches(this.options.batchSize)) {
      this.frontier.push(new Map([[this.calib.inputName, { data: batch.data, dims: [batch.count, ...this.calib.sampleShape] }]]));
    }
  }

  private async advance(target: number): Promise<void> {
    const from = [...this.frontier[0].keys()];
    // The segment computes the nodes after the cut up to the target and returns what is wanted or read further on.
    const to = [...this.position].filter(([n, p]) => p > this.cut && p <= target && (this.wanted.has(n) || (this.lastUse.get(n) ?? -1) > target)).map(([n]) => n);
    const runner = await Runner.create(segmentModel(this.model, from, to), { threads: this.options.threads });
    try {
      for (const batch of this.frontier) {
        const out = await runner.run(Object.fromEntries(from.map((n) => [n, batch.get(n)!])), to);
        for (const n of to) {
          const t = out[n];
          if (!(t.data instanceof Float32Array)) throw ftmError('E_UNSUPPORTED', `expected float32 activations, "${n}" is another type`, runner.label);
          batch.set(n, { data: t.data, dims: t.dims });
        }
      }
    } finally {
      await runner.release();
    }
    this.cut = target;
    this.prune();
  }

  private prune(): void {
    const keep = (n: string) => this.wanted.has(n) || (this.lastUse.get(n) ?? -1) > this.cut;
    for (const batch of this.frontier) for (const n of [...batch.keys()]) if (!keep(n)) batch.delete(n);
  }
}
