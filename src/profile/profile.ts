import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { collectMoments, type LayerMoments } from './collect.js';
import { constantTensor, selectLayers, type ConvLayer } from './layers.js';
import { groupChannels } from './pairing.js';
import { bestPartners, copyScale, psnrMatrix, redundancyScore, shareAbove, similarityMatrix } from './psnr.js';
import { disqualification, firstConvs } from './qualify.js';
import { decibels, type LayerReport, type ProfileReport } from './report.js';

export interface ProfileOptions {
  /** Layers to profile, by Conv node name (output name for unnamed nodes); default all Convs of the main graph. */
  layers?: string[];
  /** onnxruntime threads (default: the machine's cores). */
  threads?: number;
  /** Samples per onnxruntime run (default 64). */
  batchSize?: number;
  /** FTM ratio: channels per (prime, ghosts) group (default 2). */
  s?: number;
  /** PSNR in dB a best partner must reach to count in `share` (default 30). */
  threshold?: number;
  /** Let the first convolutions qualify (default false). */
  includeFirst?: boolean;
  /** Compare mean-centered maps, i.e. affine copies a·F + b (default true); false: plain scaled copies a·F. */
  centered?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: { samples: number; total: number }) => void;
}

type Settings = ProfileReport['settings'] & { batchSize: number };

/**
 * Measures how redundant each Conv layer's output channels are on the calibration data (docs/redundancy.md), and how
 * the FTM rewrite should group them. The model is not modified: a copy with statistics outputs runs on onnxruntime.
 */
export async function profileModel(model: Model, calib: CalibrationSet, options: ProfileOptions = {}): Promise<ProfileReport> {
  const settings = checkOptions(options);
  checkCalibration(model, calib);
  const layers = selectLayers(model, options.layers);
  const collected = await collectMoments(model, calib, layers, { threads: options.threads, batchSize: settings.batchSize, onProgress: options.onProgress });
  const first = firstConvs(model.graph);
  const reports = layers.map((layer, k) => layerReport(layer, collected[k], settings, disqualification(layer, first, settings.includeFirst)));
  const qualifying = reports.filter((r) => r.qualifies);
  const sum = (rs: LayerReport[]) => rs.reduce((n, r) => n + r.params, 0);
  return {
    format: 1,
    model: model.path ?? null,
    input: calib.inputName,
    samples: calib.count,
    settings: { s: settings.s, threshold: settings.threshold, centered: settings.centered, includeFirst: settings.includeFirst },
    layers: reports,
    totals: { layers: reports.length, qualifying: qualifying.length, params: sum(reports), qualifyingParams: sum(qualifying) },
  };
}

function checkOptions(o: ProfileOptions): Settings {
  const settings = { s: o.s ?? 2, threshold: o.threshold ?? 30, centered: o.centered ?? true, includeFirst: o.includeFirst ?? false, batchSize: o.batchSize ?? 64 };
  if (!Number.isInteger(settings.s) || settings.s < 2) throw ftmError('E_USAGE', `expected the ratio S to be an integer ≥ 2, found ${settings.s}`);
  if (!Number.isFinite(settings.threshold)) throw ftmError('E_USAGE', `expected a finite PSNR threshold in dB, found ${settings.threshold}`);
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1) throw ftmError('E_USAGE', `expected the batch size to be a positive integer, found ${settings.batchSize}`);
  return settings;
}

/** The calibration set must feed the model's only free input with samples of its shape. */
function checkCalibration(model: Model, calib: CalibrationSet): void {
  if (calib.count === 0) throw ftmError('E_CALIB_EMPTY', 'expected calibration samples, found none');
  const free = model.graph.inputs.filter((v) => !v.initializer);
  const input = free.find((v) => v.name === calib.inputName);
  const names = free.map((v) => `"${v.name}"`).join(', ');
  if (!input) throw ftmError('E_CALIB_SHAPE', `the calibration data is for input "${calib.inputName}", the model's inputs are ${names}`, model.path);
  if (free.length > 1) throw ftmError('E_UNSUPPORTED', `expected a model with one input to feed, found ${names}`, model.path);
  const declared = input.shape?.slice(1);
  const mismatch = declared && (declared.length !== calib.sampleShape.length || declared.some((d, i) => typeof d === 'number' && d !== calib.sampleShape[i]));
  if (mismatch) {
    const show = (dims: readonly unknown[]) => `[${dims.map((d) => d ?? '?').join(', ')}]`;
    throw ftmError('E_CALIB_SHAPE', `input "${input.name}" takes samples of shape ${show(declared)}, the calibration samples are ${show(calib.sampleShape)}`, model.path);
  }
}

function layerReport(layer: ConvLayer, collected: LayerMoments, settings: Settings, reason: string | undefined): LayerReport {
  const { moments, outputShape } = collected;
  const c = moments.channels;
  const gram = moments.gram(settings.centered);
  const psnr = psnrMatrix(gram, moments.peak, moments.count);
  const best = bestPartners(psnr, c);
  const groups = groupChannels(similarityMatrix(gram, c), psnr, c, settings.s);
  const weight = constantTensor(layer.node.inputs[1]);
  const rows = Array.from({ length: c }, (_, i) => Array.from(psnr.subarray(i * c, (i + 1) * c), decibels));
  return {
    layer: layer.id,
    node: layer.node.name ?? null,
    output: layer.output.name,
    weightShape: weight ? [...weight.dims] : null,
    outputShape,
    params: (weight?.size ?? 0) + (constantTensor(layer.node.inputs[2])?.size ?? 0),
    qualifies: reason === undefined,
    reason: reason ?? null,
    score: decibels(redundancyScore(best.psnr))!,
    share: shareAbove(best.psnr, settings.threshold),
    bestPartner: Array.from(best.partner),
    bestPsnr: Array.from(best.psnr, decibels),
    groups: groups.map(({ prime, ghosts }) => ({
      prime,
      ghosts: ghosts.map((g) => {
        const scale = copyScale(gram, c, g, prime);
        return { channel: g, psnr: decibels(psnr[g * c + prime]), scale, offset: settings.centered ? moments.mean[g] - scale * moments.mean[prime] : 0 };
      }),
    })),
    peak: Array.from(moments.peak),
    mean: Array.from(moments.mean),
    psnr: rows,
  };
}
