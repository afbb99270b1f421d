import { availableParallelism } from 'node:os';
import { setFtmParams } from '../../rewrites/ftm.js';
import { ftmLayout, type FtmLayout } from '../../rewrites/ftm-layout.js';
import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { convGeometry } from '../ir/conv.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { nodeKey, type RewriteRecord } from '../rewrite/driver.js';
import type { LayerStats, Params } from '../rewrite/rule.js';
import { captureBatches, type Capture } from './capture.js';
import { fitFtmLayer, type FtmFitOptions } from './ftm-fit.js';
import { ftmRatio, readFtmParams } from './ftm-params.js';
import { collectLayerStats, type PatchLayer } from './patch-stats.js';

export interface FitProgress {
  /** The layer being fitted (the teacher's Conv, as in the rewrite records), its rank and the number of layers. */
  layer: string;
  index: number;
  layers: number;
  samples: number;
  total: number;
}

export interface SequentialOptions extends FtmFitOptions {
  /** onnxruntime threads (default: the machine's cores). */
  threads?: number;
  /** Samples per onnxruntime run (default 64). */
  batchSize?: number;
  /**
   * 'sequential' (default): each layer is fitted on the student's own input, with every earlier layer already fitted.
   * 'independent': each layer is fitted on the teacher's input (for comparison: errors compound).
   */
  mode?: 'sequential' | 'independent';
  /** The statistics given to applyRules, by node: their `groups` say how the rewrite paired channels (default pairing otherwise). */
  stats?: Record<string, LayerStats>;
  onProgress?: (progress: FitProgress) => void;
}

export interface LayerFitReport {
  /** The teacher's Conv (node name, or output name when unnamed). */
  layer: string;
  /** Relative output error ‖Y − Ŷ‖² / ‖Y − mean(Y)‖² of the layer on its fitting input, before and after. */
  errorBefore: number;
  errorAfter: number;
  /** Positions the statistics sum over. */
  positions: number;
  seconds: number;
}

export interface FitReport {
  mode: 'sequential' | 'independent';
  samples: number;
  layers: LayerFitReport[];
  /** Forward passes over the calibration set (each cut after the layer it serves). */
  passes: number;
  seconds: number;
}

/** One rewritten layer: where its input and target are, and where its weights live. */
interface FitTarget {
  record: RewriteRecord & { params: Params };
  conv: Node;
  layer: PatchLayer;
  layout: FtmLayout;
  /** The FTM's input in the student (the original conv's input, usually of the same name). */
  studentInput: string;
  /** Position of the FTM in the student's (sorted) graph. */
  order: number;
}

/**
 * Fits every FTM layer of `student` (the model applyRules returned for `teacher`, module or folded form) to the
 * teacher's conv outputs, in topological order, writing the fitted weights into the records' params (which live in
 * `student`). In sequential mode layer l's statistics pair the STUDENT's input to the layer, with layers < l already
 * fitted, with the teacher's pre-activation output: errors of earlier layers are compensated instead of compounding.
 *
 * Cost: per layer one pass of the student and one of the teacher, each cut after the values needed (2·L partial
 * passes over the calibration set); independent mode needs one teacher pass per layer.
 */
export async function fitSequential(teacher: Model, student: Model, records: readonly RewriteRecord[], calib: CalibrationSet, options: SequentialOptions = {}): Promise<FitReport> {
  const start = performance.now();
  const { threads = availableParallelism(), batchSize = 64, mode = 'sequential' } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw ftmError('E_USAGE', `expected the batch size to be a positive integer, found ${batchSize}`);
  if (mode !== 'sequential' && mode !== 'independent') throw ftmError('E_USAGE', `expected mode "sequential" or "independent", found "${String(mode)}"`);
  if (calib.count === 0) throw ftmError('E_CALIB_EMPTY', 'expected calibration samples, found none');
  const targets = fitTargets(teacher, student, records, options.stats);
  const layers: LayerFitReport[] = [];
  let passes = 0;
  for (const [index, target] of targets.entries()) {
    const t0 = performance.now();
    const where = target.record.node;
    const x: Capture = mode === 'sequential' ? { model: student, value: target.studentInput } : { model: teacher, value: target.conv.inputs[0]!.name };
    const y: Capture = { model: teacher, value: target.conv.outputs[0]!.name };
    passes += x.model === y.model ? 1 : 2;
    const onBatch = (samples: number) => options.onProgress?.({ layer: where, index, layers: targets.length, samples, total: calib.count });
    const stats = await collectLayerStats(captureBatches(calib, { x, y }, { threads, batchSize, onBatch }), target.layer, { threads, where });
    const { cin } = target.layer;
    const k2 = target.layer.geometry.kernel[0] * target.layer.geometry.kernel[1];
    const init = readFtmParams(target.record.params, target.layout, cin, k2, where);
    const fit = fitFtmLayer(stats, init, target.layout, k2, cin, options);
    setFtmParams(target.record.params, fit.weights, target.layout);
    layers.push({ layer: where, errorBefore: fit.errorBefore, errorAfter: fit.errorAfter, positions: stats.count, seconds: (performance.now() - t0) / 1000 });
  }
  return { mode, samples: calib.count, layers, passes, seconds: (performance.now() - start) / 1000 };
}

/** The fired FTM rewrites, checked against both models, in the student's topological order. */
function fitTargets(teacher: Model, student: Model, records: readonly RewriteRecord[], stats: Record<string, LayerStats> | undefined): FitTarget[] {
  const teacherNodes = new Map(teacher.graph.nodes.map((n) => [nodeKey(n), n]));
  const studentOrder = new Map(student.graph.nodes.map((n, i) => [n, i]));
  const fired = records.filter((r): r is RewriteRecord & { params: Params } => r.rule === 'ftm' && r.status === 'fired' && r.params !== undefined);
  if (fired.length === 0) throw ftmError('E_USAGE', 'nothing to fit: no record of a fired ftm rewrite');
  const targets = fired.map((record): FitTarget => {
    const where = record.node;
    const conv = teacherNodes.get(where);
    const weight = conv?.opType === 'Conv' ? conv.inputs[1]?.initializer : undefined;
    if (!conv || !weight || weight.dims.length !== 4) throw ftmError('E_USAGE', 'expected the teacher to have this Conv with a constant 4-D weight: pass the model the rewrite was applied to', where);
    const [cout, cin] = weight.dims;
    // The FTM's pointwise conv is the node reading the proposal's own pw.weight tensor (found by identity, not by name).
    const pw = record.params.get('pw.weight');
    const pwNode = student.graph.nodes.find((n) => n.inputs[1]?.initializer !== undefined && n.inputs[1].initializer === pw);
    if (!pwNode?.inputs[0]) throw ftmError('E_USAGE', "expected the student to hold this rewrite's weights: pass the model applyRules returned with these records", where);
    const layout = ftmLayout(cout, ftmRatio(record.params, where), stats?.[where]?.groups);
    if ('noMatch' in layout) throw ftmError('E_USAGE', `the rewrite's layout cannot be rebuilt: ${layout.noMatch}`, where);
    return { record, conv, layer: { cin, cout, geometry: convGeometry(conv, weight.dims) }, layout, studentInput: pwNode.inputs[0].name, order: studentOrder.get(pwNode)! };
  });
  return targets.sort((a, b) => a.order - b.order);
}
