import type { LatencyAtBatch, LatencyComparison } from '../runtime/latency.js';
import type { LayerLatency, LayerNotTimed } from './layer-latency.js';

/**
 * What a plan is for. 'params': land on the target ratio, without rewrites that make their layer slower. 'latency':
 * rewrite every layer whose rewrite is faster, and nothing else; the target ratio is a ceiling, not aimed at.
 * 'both': land on the target ratio with faster rewrites only, giving back the least speed-up first.
 */
export type Objective = 'params' | 'latency' | 'both';

export const OBJECTIVES: readonly Objective[] = ['params', 'latency', 'both'];

export type LayerTiming = LayerLatency | LayerNotTimed;

/**
 * How far a rewrite's median time must be from its layer's to count as slower (ratio above 1 + this) or faster
 * (below 1 − this): most repeated timings of the same pair on a loaded machine differ by less than half of it, so a
 * verdict inside the band would flip between runs, and with it the emitted model. Rare outliers go further
 * (bench/latency.md): the band makes a flip unlikely, not impossible.
 */
export const LATENCY_NOISE = 0.1;

export const SLOWER = 'its rewrite is slower than the layer on onnxruntime';
export const NOT_FASTER = 'its rewrite is not faster than the layer on onnxruntime';

/** The ratio where the objective's verdict changes: above it 'params' leaves a rewrite out, below it 'latency' and
 * 'both' take one. */
export const verdictEdge = (objective: Objective): number => (objective === 'params' ? 1 + LATENCY_NOISE : 1 - LATENCY_NOISE);

/** The batch sizes at which a whole compressed model was timed slower than its original beyond LATENCY_NOISE. */
export const slowerBatches = (c: LatencyComparison): LatencyAtBatch[] => [c.batch1, c.batchN].filter((l): l is LatencyAtBatch => !!l && l.ratio > 1 + LATENCY_NOISE);

/** The rewrite's time over the layer's at the batch size where it fares worst. */
export const worstRatio = (t: LayerLatency): number => Math.max(...t.timings.map((b) => b.ratio));

/**
 * Takes out of the candidates (`rewrite`) the layers the objective does not want, with the reason, and records each
 * timed layer's worst ratio. 'params' drops a rewrite timed slower and keeps an untimed one (no evidence against it);
 * 'latency' and 'both' keep only rewrites timed faster.
 */
export function judgeLatency(layers: { layer: string; rewrite: boolean; reason?: string; latencyRatio?: number }[], timed: readonly LayerTiming[], objective: Objective): void {
  const byLayer = new Map(timed.map((t) => [t.layer, t]));
  for (const l of layers) {
    const t = byLayer.get(l.layer);
    if (t && 'timings' in t) l.latencyRatio = worstRatio(t);
    if (!l.rewrite) continue;
    if (objective === 'params') {
      if (l.latencyRatio !== undefined && l.latencyRatio > 1 + LATENCY_NOISE) Object.assign(l, { rewrite: false, reason: SLOWER });
    } else if (!(l.latencyRatio !== undefined && l.latencyRatio < 1 - LATENCY_NOISE)) {
      Object.assign(l, { rewrite: false, reason: t && 'skipped' in t ? `its rewrite was not timed: ${t.skipped}` : NOT_FASTER });
    }
  }
}

/** Whether the layer was taken out by `judgeLatency`. */
export const leftOutForLatency = (reason: string | undefined): boolean => reason === SLOWER || reason === NOT_FASTER || !!reason?.startsWith('its rewrite was not timed');
