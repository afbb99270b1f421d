import type { CompressReport } from '../compress/compress.js';
import { layerAction, ruleChoiceLine } from '../compress/format.js';
import { formatIntake } from '../intake/format.js';
import type { LatencyAtBatch, LatencyComparison } from '../runtime/latency.js';
import { barChart } from './bar-chart.js';
import { card, htmlDocument } from './document.js';
import { escapeHtml } from './escape.js';
import { count, decimals, percent } from './format.js';
import { heatmap } from './heatmap.js';
import { lineChart } from './line-chart.js';
import { htmlTable } from './table.js';

/** The main job's report as the command writes it: the library's report, the files, and what the command measured. */
export type CompressPageReport = CompressReport & { model?: string; output?: string; latency?: LatencyComparison };

type Distilled = Exclude<NonNullable<CompressReport['distill']>, { skipped: string }>;

/** The main job's report as one self-contained HTML page: numbers first, then where they come from. */
export function compressPage(r: CompressPageReport): string {
  const title = `ftm-compress report${r.model ? `: ${r.model}` : ''}`;
  const knob = Object.entries(r.ruleOptions).map(([k, v]) => `${k}=${v}`).join(', ');
  const rewritten = r.layers.filter((l) => l.rewritten).length;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${r.output ? `wrote <code>${escapeHtml(r.output)}</code> · ` : ''}rule <code>${escapeHtml(r.rule)}</code>${knob ? ` (${escapeHtml(knob)})` : ''} · ` +
      `${rewritten} of ${r.layers.length} Conv layers rewritten · fitted on ${count(r.samples.fit)} samples, measured on ${count(r.samples.heldOut)} held-out samples</p>`,
    totals(r),
    r.ruleChoice ? `<p class="note" id="rule-choice">${escapeHtml(ruleChoiceLine(r.ruleChoice))}.</p>` : '',
    r.intake ? `<p class="note" id="intake">${escapeHtml(formatIntake(r.intake))}.</p>` : '',
    parametersSection(r),
    similaritySection(r),
    distillSection(r),
    timeSection(r),
    layersTable(r),
  ];
  return htmlDocument(title, body.join('\n'));
}

function totals(r: CompressPageReport): string {
  const cards = [
    card('paramsAfter', 'parameters after', count(r.paramsAfter), r.paramsAfter, `of ${count(r.paramsBefore)}: ${count(r.paramsBefore - r.paramsAfter)} removed`),
    card('achievedRatio', 'achieved ratio', decimals(r.achievedRatio, 3), r.achievedRatio, `target ${r.targetRatio}`),
  ];
  const outputs = r.agreement.length;
  for (const a of r.agreement) {
    const of = outputs > 1 ? ` "${a.output}"` : '';
    if (a.top1Agreement !== null) cards.push(card('top1Agreement', `held-out top-1 agreement${of}`, percent(a.top1Agreement), a.top1Agreement, `with the original, ${r.samples.heldOut} samples`));
    cards.push(card('psnr', `held-out output PSNR${of}`, `${decimals(a.psnr, 1)} dB`, Number.isFinite(a.psnr) ? a.psnr : null, `relative error ${decimals(a.relativeError, 4)}`));
  }
  if (r.agreementReliable === false) {
    cards.push(card('agreementReliable', 'held-out estimate', 'unreliable', 'false', `only ${r.samples.heldOut} held-out samples: use more calibration samples or a larger --holdout`, true));
  }
  for (const l of measuredLatency(r)) {
    const speed = l.ratio <= 1 ? `${decimals(1 / l.ratio, 2)}× faster` : `${decimals(l.ratio, 2)}× slower`;
    const id = l.batch === 1 ? 'latency' : 'latencyN';
    cards.push(card(id, `latency after, batch ${l.batch}`, `${decimals(l.compressedMs, 2)} ms`, l.compressedMs, `before ${decimals(l.originalMs, 2)} ms: ${speed}; onnxruntime, ${r.latency?.threads} threads`));
  }
  cards.push(card('seconds', 'time', `${decimals(r.seconds.total, 1)} s`, r.seconds.total, 'the whole job'));
  return `<div class="cards">${cards.join('')}</div>`;
}

function parametersSection(r: CompressPageReport): string {
  const chart = barChart({
    id: 'params-chart',
    title: 'parameters per Conv layer, before and after',
    labels: r.layers.map((l) => l.layer),
    series: [
      { name: 'before', key: 'before', values: r.layers.map((l) => l.paramsBefore) },
      { name: 'after', key: 'after', values: r.layers.map((l) => l.paramsAfter) },
    ],
    axisLabel: 'parameters (weights and bias)',
    format: count,
    rowClass: (i) => (r.layers[i].rewritten ? 'rewritten' : 'kept'),
  });
  const c = r.classifier;
  const classifier = !c
    ? ''
    : 'skipped' in c
      ? `<p class="note">Classifier refit skipped: ${escapeHtml(c.skipped)}</p>`
      : `<p class="note">Classifier <code>${escapeHtml(c.node)}</code> refit ${escapeHtml(c.reason)} (logit error ${decimals(c.errorBefore, 3)} → ${decimals(c.errorAfter, 3)}).</p>`;
  return [
    '<h2>Where the parameters went</h2>',
    '<p class="note">Weights and bias of each Conv layer before and after; pale bars: layers kept as they were. The redundancy and fit error of each layer are in the table at the end.</p>',
    `<div class="charts">${chart}</div>`,
    classifier,
  ].join('\n');
}

function layersTable(r: CompressPageReport): string {
  const table = htmlTable({
    id: 'layers-table',
    header: ['layer', 'action', 'redundancy (dB)', 'params before', 'params after', 'fit error: data-free', 'fitted'],
    numeric: [2, 3, 4, 5, 6],
    rows: r.layers.map((l) => [
      { html: `<code>${escapeHtml(l.layer)}</code>` },
      layerAction(l),
      l.redundancy === null ? '' : decimals(l.redundancy, 1),
      count(l.paramsBefore),
      count(l.paramsAfter),
      l.errorBefore === undefined ? '' : decimals(l.errorBefore, 3),
      l.errorAfter === undefined ? '' : decimals(l.errorAfter, 3),
    ]),
    rowClass: (i) => (r.layers[i].rewritten ? 'rewritten' : 'kept'),
  });
  return [
    '<h2>Layers in detail</h2>',
    '<p class="note">Redundancy: mean over output channels of the best partner\'s PSNR (how well another channel, scaled, reproduces it). ' +
      'Fit error: relative error of the layer\'s output against the original\'s, from the rule\'s data-free start and after the least-squares fit.</p>',
    table,
  ].join('\n');
}

function similaritySection(r: CompressPageReport): string {
  const m = r.similarity;
  if (!m) return '<h2>Channel similarity</h2><p class="note">No similarity map in this report.</p>';
  return [
    `<h2>Channel similarity: <code>${escapeHtml(m.layer)}</code></h2>`,
    `<p class="note">PSNR of each of the ${m.channels} output channels (row) reproduced as a scaled copy of another (column), on the calibration data. ` +
      (m.pairs.length ? `Outlined: the pairs the FTM grouping (S = ${m.s}) uses, ghost (row) from prime (column).` : 'Nothing outlined: this layer\'s rewrite is not an FTM, and groups no channels.') +
      (m.block > 1 ? ` ${m.channels} channels are shown ${m.block} to a cell; a cell holds the best PSNR of its channel pairs.` : '') +
      ' Another layer: <code>--html-layer NAME</code>.</p>',
    heatmap(m, 'similarity-map'),
  ].join('\n');
}

function distillSection(r: CompressPageReport): string {
  const d = r.distill;
  if (!d) return '<h2>Distillation</h2><p class="note">Distillation did not run (nothing rewritten, or <code>--no-distill</code>).</p>';
  if ('skipped' in d) return `<h2>Distillation</h2><p class="note">Distillation skipped: ${escapeHtml(d.skipped)}</p>`;
  const training = [...(d.initialLoss === undefined ? [] : [{ x: 0, y: d.initialLoss }]), ...(d.lossCurve ?? []).map((p) => ({ x: p.step, y: p.loss }))];
  const evaluations = d.evaluations ?? [];
  const loss = lineChart({
    id: 'loss-chart',
    title: 'distillation loss',
    series: [
      { name: 'training loss', key: 'train', points: training },
      { name: 'validation loss', key: 'validation', points: evaluations.map((e) => ({ x: e.step, y: e.loss })) },
    ],
    xLabel: 'step',
    yLabel: `loss (${d.loss?.kind ?? '?'})`,
  });
  const agreed = evaluations.filter((e) => e.top1Agreement !== null);
  const agreement = agreed.length
    ? lineChart({
        id: 'agreement-chart',
        title: 'validation top-1 agreement',
        series: [{ name: 'validation top-1 agreement', key: 'validation', points: agreed.map((e) => ({ x: e.step, y: 100 * e.top1Agreement! })) }],
        xLabel: 'step',
        yLabel: 'agreement (%)',
        yRange: [Math.min(...agreed.map((e) => 100 * e.top1Agreement!), 50), 100],
      })
    : '';
  return [
    '<h2>Distillation</h2>',
    `<p class="note">${d.steps} steps on ${count(d.trainableParams)} parameters, batch ${d.batchSize}, peak learning rate ${d.lr}` +
      d.restarts.map((x) => `; at step ${x.step} ${escapeHtml(x.reason)}, restarted from step ${x.fromStep} at peak rate ${x.peakLr}`).join('') +
      `${d.divergence ? `; diverged at step ${d.divergence.step} (${escapeHtml(d.divergence.reason)}), rolled back to step ${d.keptStep}` : ''}. ` +
      `The validation samples are set aside from the fitting samples: neither the closed-form fit nor training sees them.</p>`,
    `<div class="charts">${loss}${agreement}</div>`,
    comparison(r, d),
  ].join('\n');
}

/**
 * The closed-form fit against the distilled student: on the validation samples (which decided) and, where the report
 * has them, on the held-out samples (which did not), and which one the job kept.
 */
function comparison(r: CompressPageReport, d: Distilled): string {
  const rows = [
    { name: 'closed-form fit', key: 'closed-form', score: d.validationBefore, heldOut: d.heldOut?.closedForm?.[0] },
    { name: `distilled (step ${d.keptStep})`, key: 'distilled', score: d.validationAfter, heldOut: d.heldOut?.distilled?.[0] },
  ].filter((x) => x.score);
  if (!rows.length) return '';
  const held = rows.some((x) => x.heldOut);
  const agreement = (x: number | null | undefined) => (x === null || x === undefined ? '' : percent(x));
  const table = htmlTable({
    id: 'comparison-table',
    header: [
      'student',
      `validation loss (${r.samples.validation} samples)`,
      'validation top-1 agreement',
      'validation relative error',
      ...(held ? [`held-out top-1 agreement (${r.samples.heldOut} samples)`, 'held-out PSNR (dB)'] : []),
      'kept',
    ],
    numeric: held ? [1, 2, 3, 4, 5] : [1, 2, 3],
    rows: rows.map((x) => [
      x.name,
      decimals(x.score.loss, 4),
      agreement(x.score.top1Agreement),
      decimals(x.score.relativeError, 4),
      ...(held ? [agreement(x.heldOut?.top1Agreement), decimals(x.heldOut?.psnr, 1)] : []),
      d.kept === x.key ? 'kept' : '',
    ]),
    rowClass: (i) => (d.kept === rows[i].key ? 'chosen' : ''),
  });
  const why = d.kept === undefined ? '' : `<p class="note">The job keeps the distilled student only if its validation loss is lower than the closed-form fit's: it kept the ${d.kept === 'distilled' ? 'distilled student' : 'closed-form fit'}. The held-out samples took no part in the choice.</p>`;
  return `<h3>Closed-form fit vs distilled</h3>\n${table}\n${why}`;
}

function timeSection(r: CompressPageReport): string {
  const stages = Object.entries(r.seconds).filter(([stage]) => stage !== 'total');
  const chart = barChart({
    id: 'time-chart',
    title: 'seconds per stage',
    labels: stages.map(([stage]) => stage),
    series: [{ name: 'seconds', key: 'seconds', values: stages.map(([, s]) => s) }],
    axisLabel: 'seconds',
    format: (s) => `${decimals(s, 1)} s`,
    width: 640,
  });
  const latency = measuredLatency(r)
    .map((l) => `<p class="note" id="latency-${l.batch}">Latency on onnxruntime, batch ${l.batch}, ${r.latency?.threads} threads: original ${decimals(l.originalMs, 3)} ms, compressed ${decimals(l.compressedMs, 3)} ms ` +
      `(median of ${l.runs} warm runs each, the two models' runs interleaved).</p>`)
    .join('\n');
  return ['<h2>Time</h2>', `<p class="note">Total ${decimals(r.seconds.total, 1)} s.</p>`, `<div class="charts">${chart}</div>`, latency].join('\n');
}

const measuredLatency = (r: CompressPageReport) => [r.latency?.batch1, r.latency?.batchN].filter((l): l is LatencyAtBatch => l !== undefined);
