import { formatCount, formatTable } from '../report/table.js';
import { formatIntake } from '../intake/format.js';
import { MIN_RELIABLE_SAMPLES } from './agreement.js';
import type { LatencyAtBatch, LatencyComparison } from '../runtime/latency.js';
import type { CompressReport, LayerSummary, RuleChoice } from './compress.js';
import type { LayerLatency } from '../plan/layer-latency.js';
import { leftOutForLatency, worstRatio } from '../plan/latency-verdict.js';

const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '' : Number.isFinite(x) ? x.toFixed(digits) : '∞');

/** Which plan ran, the mixed plan or its fallback, and the estimate that chose it. */
export function ruleChoiceLine({ trialShare, above, fallback, chosen }: RuleChoice): string {
  const estimate = `the mixed plan's trial fits estimated at ${trialShare.toFixed(2)}× the work of ${fallback}'s fits`;
  return chosen === 'mixed' ? `planned by the mixed plan (${estimate}, within ${above}×)` : `planned by ${fallback} alone (${estimate}, over ${above}×)`;
}

/** What the job did with a layer: rewritten by which rule at which options, or why it was kept. */
export function layerAction(l: LayerSummary): string {
  if (!l.rewritten) return l.reason ?? 'kept';
  return l.rule ? `rewritten (${[l.rule, ...Object.entries(l.ruleOptions ?? {}).map(([k, v]) => `${k}=${v}`)].join(' ')})` : 'rewritten';
}

/** The compression report as a person reads it at a glance. */
export function formatCompressReport(r: CompressReport & { latency?: LatencyComparison }): string {
  const rows = r.layers.map((l) => [
    l.layer,
    layerAction(l),
    formatCount(l.paramsBefore),
    formatCount(l.paramsAfter),
    num(l.redundancy, 1),
    l.errorAfter === undefined ? '' : `${num(l.errorBefore)} → ${num(l.errorAfter)}`,
  ]);
  const lines = [formatTable(['layer', 'action', 'params', 'after', 'redundancy dB', 'fit error (data-free → fitted)'], rows), ''];
  const knob = Object.entries(r.ruleOptions).map(([k, v]) => `${k}=${v}`).join(', ');
  lines.push(
    `${r.rule}${knob ? ` (${knob})` : ''}: ${r.layers.filter((l) => l.rewritten).length} of ${r.layers.length} layers rewritten; parameters ` +
      `${formatCount(r.paramsBefore)} → ${formatCount(r.paramsAfter)}, ratio ${r.achievedRatio.toFixed(3)} (target ${r.targetRatio})`,
  );
  if (r.ruleChoice) lines.push(ruleChoiceLine(r.ruleChoice));
  lines.push(formatIntake(r.intake));
  if (r.layerLatency) lines.push(formatLayerLatency(r));
  if (r.classifier && 'skipped' in r.classifier) lines.push(`classifier refit skipped: ${r.classifier.skipped}`);
  else if (r.classifier) {
    lines.push(`classifier ${r.classifier.node} refit ${r.classifier.reason} (logit error ${num(r.classifier.errorBefore)} → ${num(r.classifier.errorAfter)})`);
  }
  if (r.distill && 'skipped' in r.distill) lines.push(`distillation skipped: ${r.distill.skipped}`);
  else if (r.distill) {
    const d = r.distill;
    const agreement = (x: number | null) => (x === null ? '' : `, agreement ${(100 * x).toFixed(1)}%`);
    const stopped = d.divergence ? `; diverged at step ${d.divergence.step} (${d.divergence.reason}), rolled back to step ${d.keptStep}` : d.keptStep === d.steps ? '' : ` (kept step ${d.keptStep})`;
    const restarts = d.restarts.map((x) => `; at step ${x.step} ${x.reason}, restarted from step ${x.fromStep} at peak rate ${x.peakLr.toPrecision(3)}`).join('');
    lines.push(
      `distillation: ${d.steps} steps on ${formatCount(d.trainableParams)} parameters (${d.trainable.length} tensors${d.frozen.length ? `, ${d.frozen.length} frozen` : ''})${restarts}${stopped}; ` +
        `validation (${r.samples.validation} samples) loss ${num(d.validationBefore.loss, 4)}${agreement(d.validationBefore.top1Agreement)} → ${num(d.validationAfter.loss, 4)}${agreement(d.validationAfter.top1Agreement)}: ` +
        (d.kept === 'distilled' ? 'kept the distilled student' : 'kept the closed-form fit (distillation did not beat it on the validation samples)'),
    );
    const [closed, distilled] = [d.heldOut.closedForm[0], d.heldOut.distilled[0]];
    const held = (a: typeof closed) => (a.top1Agreement === null ? `relative error ${num(a.relativeError, 4)}` : `agreement ${(100 * a.top1Agreement).toFixed(1)}%`);
    lines.push(`  on the held-out samples: closed-form fit ${held(closed)}, distilled ${held(distilled)}`);
  }
  for (const a of r.agreement) {
    const top1 = a.top1Agreement === null ? '' : `top-1 agreement ${(100 * a.top1Agreement).toFixed(1)}%, `;
    lines.push(`held-out (${r.samples.heldOut} samples, not used for fitting) "${a.output}": ${top1}relative error ${num(a.relativeError, 4)}, PSNR ${num(a.psnr, 1)} dB`);
  }
  if (!r.agreementReliable) {
    lines.push(`held-out estimate unreliable: ${r.samples.heldOut} samples, fewer than the ${MIN_RELIABLE_SAMPLES} it takes to judge by (more calibration samples or a larger --holdout)`);
  }
  if (r.latency) lines.push(formatLatency(r.latency));
  const s = r.seconds;
  lines.push(`time ${s.total.toFixed(1)} s (profile ${s.profile.toFixed(1)}, ${s['trial-fit'] ? `trial fits ${s['trial-fit'].toFixed(1)}, ` : ''}layer latency ${s['layer-latency'].toFixed(1)}, fit ${s.fit.toFixed(1)}, refit ${s.refit.toFixed(1)}, distill ${s.distill.toFixed(1)}, evaluate ${s.evaluate.toFixed(1)}); fitted on ${r.samples.fit} samples`);
  return lines.join('\n');
}

/** The planner's timings: the range of the rewrites' ratios, and the layers left out for them. */
function formatLayerLatency(r: CompressReport): string {
  const timed = r.layerLatency!.filter((t): t is LayerLatency => 'timings' in t);
  const worst = new Map(timed.map((t) => [t.layer, worstRatio(t)]));
  const batches = [...new Set(timed.flatMap((t) => t.timings.map((b) => b.batch)))].join(' and ');
  const range = worst.size ? `, rewrite / layer ${Math.min(...worst.values()).toFixed(2)}–${Math.max(...worst.values()).toFixed(2)}` : '';
  const out = r.layers.filter((l) => leftOutForLatency(l.reason)).map((l) => `${l.layer}${worst.has(l.layer) ? ` ${worst.get(l.layer)!.toFixed(2)}×` : ''}`);
  return `candidate layers timed alone against their rewrites${batches ? ` at batch ${batches}` : ''} (objective ${r.objective}): ${worst.size} of ${r.layerLatency!.length} timed${range}; ` +
    (out.length ? `left out for latency: ${out.join(', ')}` : 'none left out for latency');
}

function formatLatency(l: LatencyComparison): string {
  const at = (b: LatencyAtBatch) => {
    const speed = b.ratio <= 1 ? `${(1 / b.ratio).toFixed(2)}× faster` : `${b.ratio.toFixed(2)}× slower`;
    return `batch ${b.batch} ${b.originalMs.toFixed(3)} → ${b.compressedMs.toFixed(3)} ms (ratio ${b.ratio.toFixed(2)}, ${speed})`;
  };
  const measured = [l.batch1, l.batchN].filter((b): b is LatencyAtBatch => b !== undefined);
  return `latency on onnxruntime (${l.threads} threads, median of warm interleaved runs): ${measured.map(at).join('; ')}`;
}
