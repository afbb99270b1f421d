import { compressModel, loadCalibration, loadModel, readPreprocessFile, type Model } from '../src/index.js';
import { builtinRules } from '../rewrites/index.js';
import { quantizeWeightsInt8 } from './int8.js';
import { fashionTestSet } from './fashion-test.js';
import { compareLatency } from './latency.js';
import { top1 } from './top1.js';

export const ACCURACY_HEADER = ['model', 'param ratio', 'top-1 % (10k test)', 'Δ points', 'held-out agreement %', 'compress s', 'latency b1 ms', 'latency b32 ms'];

/**
 * The main job against its baselines on the fixture: top-1 on the full 10k Fashion-MNIST test set for the original,
 * ftm, lowrank and prune at each ratio, each with and without distillation (256 calibration images, 1/8 held out),
 * int8 weight quantization, and the onnxruntime latency of each model (median ms, interleaved with the original; the
 * original's own column shows the median over all its runs).
 */
export async function benchAccuracy(threads: number, ratios = [0.5, 0.3, 0.21]): Promise<string[][]> {
  const model = loadModel('fixtures/resnet20/model.onnx');
  const calib = await loadCalibration('fixtures/resnet20/calib', model, readPreprocessFile('fixtures/resnet20/preprocess.json'));
  const test = fashionTestSet();
  const base = await top1(model, test.data, test.labels, threads);
  const pct = (x: number) => (100 * x).toFixed(2);
  const originalMs: number[][] = [[], []];
  const row = async (name: string, ratio: string, small: Model, agreement: string, seconds: string) => {
    const acc = await top1(small, test.data, test.labels, threads);
    const lat = await compareLatency(model, small, [1, 28, 28], [1, 32], threads);
    lat.forEach((l, i) => originalMs[i].push(l.a));
    return [name, ratio, pct(acc), (100 * (acc - base)).toFixed(2), agreement, seconds, lat[0].b.toFixed(3), lat[1].b.toFixed(2)];
  };
  const rows: string[][] = [];
  for (const ratio of ratios) {
    for (const rule of ['ftm', 'lowrank', 'prune']) {
      // The closed-form fit alone (--no-distill), then the default main job (distillation, DEFAULT_DISTILL_STEPS steps).
      for (const distill of [false, undefined] as const) {
        const t0 = performance.now();
        const { model: small, report } = await compressModel(model, calib, { targetRatio: ratio, rule: builtinRules[rule], bestEffort: true, threads, distill });
        const seconds = ((performance.now() - t0) / 1000).toFixed(1);
        const knob = Object.entries(report.ruleOptions).map(([k, v]) => `${k}=${v}`).join(' ');
        const name = `${rule} ${knob}${distill === false ? ', no distillation' : ''} (target ${ratio})`;
        rows.push(await row(name, report.achievedRatio.toFixed(3), small, pct(report.agreement[0].top1Agreement ?? 0), seconds));
      }
    }
  }
  const int8 = quantizeWeightsInt8(model);
  rows.push(await row(`int8 weights, DequantizeLinear (byte ratio ${int8.byteRatio.toFixed(3)})`, '1.000', int8.model, '', ''));
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return [['original', '1.000', pct(base), '0.00', '', '', mid(originalMs[0]).toFixed(3), mid(originalMs[1]).toFixed(2)], ...rows];
}
