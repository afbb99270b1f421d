import { describe, expect, it } from 'vitest';
import { ftm } from '../rewrites/index.js';
import { compressModel, defineRule, isFtmError, loadCalibration, loadModel, readPreprocessFile, type FitPlan } from '../src/index.js';

const FIXTURE = 'fixtures/resnet20/';

/** FTM whose first fitted layer comes out of its solve with a weight that is not finite, as an unstable fit's would. */
function ftmWithOneBrokenFit() {
  let broken = false;
  return defineRule({
    ...ftm,
    name: 'ftm-broken-fit',
    rewrite(match, b, ctx) {
      const proposal = ftm.rewrite(match, b, ctx);
      const plans = ([] as FitPlan[]).concat(proposal.fit ?? []);
      return {
        ...proposal,
        fit: plans.map((plan) => ({
          ...plan,
          async solve(stats, params, options) {
            const result = await plan.solve(stats, params, options);
            if (!broken) {
              broken = true;
              const [first] = params.values();
              first.data = Float32Array.from(first.toFloat32(), (v, i) => (i === 0 ? Infinity : v));
            }
            return result;
          },
        })),
      };
    },
  });
}

describe('the main job never hands back a model whose outputs are not finite', () => {
  it('a fit that leaves an infinite weight makes the job fail with E_FIT_UNSTABLE, naming the output, instead of returning the model', async () => {
    const model = loadModel(`${FIXTURE}model.onnx`);
    const calib = await loadCalibration(`${FIXTURE}calib`, model, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 32 });
    const job = compressModel(model, calib, { rule: ftmWithOneBrokenFit(), targetRatio: 0.8, bestEffort: true, distill: false, threads: 1 });
    const error = await job.then(() => undefined, (e: unknown) => e);
    expect(isFtmError(error, 'E_FIT_UNSTABLE')).toBe(true);
    expect((error as Error).message).toMatch(/non-finite values in "logits" on the 4 held-out samples.*fitted on 28 samples/);
  }, 300_000);

  it('the same job with the rule as it is returns a model whose held-out outputs are finite', async () => {
    const model = loadModel(`${FIXTURE}model.onnx`);
    const calib = await loadCalibration(`${FIXTURE}calib`, model, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 32 });
    const { report } = await compressModel(model, calib, { rule: ftm, targetRatio: 0.8, bestEffort: true, distill: false, threads: 1 });
    expect(report.agreement.every((a) => Number.isFinite(a.relativeError))).toBe(true);
  }, 300_000);
});
