import { compressModel, loadCalibration, loadModel, readPreprocessFile } from '../src/index.js';
import { builtinRules } from '../rewrites/index.js';
import { quantizeWeightsInt8 } from './int8.js';
import { fashionTestSet } from './fashion-test.js';
import { top1 } from './top1.js';

/**
 * The main job against its baselines on the fixture: top-1 on the full 10k Fashion-MNIST test set for the original,
 * ftm, lowrank and prune at each ratio (256 calibration images, 1/8 held out), plus int8 weight quantization.
 */
export async function benchAccuracy(threads: number, ratios = [0.5, 0.3, 0.21]): Promise<{ header: string[]; rows: string[][] }> {
  const model = loadModel('fixtures/resnet20/model.onnx');
  const calib = await loadCalibration('fixtures/resnet20/calib', model, readPreprocessFile('fixtures/resnet20/preprocess.json'));
  const test = fashionTestSet();
  const pct = (x: number) => (100 * x).toFixed(2);
  const rows: string[][] = [['original', '1.000', '', pct(await top1(model, test.data, test.labels, threads)), '', '']];
  for (const ratio of ratios) {
    for (const rule of ['ftm', 'lowrank', 'prune']) {
      const t0 = performance.now();
      const { model: small, report } = await compressModel(model, calib, { targetRatio: ratio, rule: builtinRules[rule], bestEffort: true, threads });
      const seconds = (performance.now() - t0) / 1000;
      const knob = Object.entries(report.ruleOptions).map(([k, v]) => `${k}=${v}`).join(' ');
      rows.push([`${rule} ${knob}`, report.achievedRatio.toFixed(3), String(ratio), pct(await top1(small, test.data, test.labels, threads)), pct(report.agreement[0].top1Agreement ?? 0), seconds.toFixed(1)]);
    }
  }
  const int8 = quantizeWeightsInt8(model);
  rows.push([`int8 weights (byte ratio ${int8.byteRatio.toFixed(3)})`, '1.000', '', pct(await top1(int8.model, test.data, test.labels, threads)), '', '']);
  return { header: ['model', 'param ratio', 'target', 'top-1 % (10k test)', 'held-out agreement %', 'compress s'], rows };
}
