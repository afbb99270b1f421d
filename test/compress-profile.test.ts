import { describe, expect, it } from 'vitest';
import { ftm } from '../rewrites/index.js';
import { compressModel, loadCalibration, loadModel, readPreprocessFile, type Stage } from '../src/index.js';

const FIXTURE = 'fixtures/resnet20/';

describe('compress profiles the data once, whatever setting the planner chooses', () => {
  it('at a target S = 2 cannot reach, the planner turns S to 3 and the groupings come from the same pass', async () => {
    const model = loadModel(`${FIXTURE}model.onnx`);
    const calib = await loadCalibration(`${FIXTURE}calib`, model, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 48 });
    const batchSize = 8;
    const profiling: number[] = [];
    const starts: Stage[] = [];
    const { report } = await compressModel(model, calib, {
      rule: ftm,
      targetRatio: 0.06,
      bestEffort: true,
      // The setting on parameters alone: with latency, the timed-slower layers left out would make it depend on the machine.
      allowSlower: true,
      distill: false,
      threads: 1,
      batchSize,
      similarity: true,
      onProgress: (stage, fraction) => {
        if (fraction === 0) starts.push(stage);
        if (stage === 'profile') profiling.push(fraction);
      },
    });
    expect(report.ruleOptions.s).toBe(3);
    expect(starts.filter((s) => s === 'profile')).toHaveLength(1);
    // one pass: a tick per batch of the fitting samples, between the stage's start and end
    expect(profiling).toHaveLength(2 + Math.ceil(report.samples.fit / batchSize));
    expect(profiling.slice(1, -1).every((f, i, all) => f > 0 && (i === 0 || f > all[i - 1]))).toBe(true);
    // the rule took every planned layer with the S = 3 grouping derived from that pass
    const planned = report.layers.filter((l) => l.rewritten || l.reason?.startsWith('declined') || l.reason?.startsWith('refused'));
    expect(planned.length).toBeGreaterThan(10);
    expect(planned.every((l) => l.rewritten)).toBe(true);
    const map = report.similarity!;
    expect(map.s).toBe(3);
    expect(map.pairs).toHaveLength(map.channels - Math.ceil(map.channels / 3)); // each ghost outlined once (one cell per channel)
  }, 300_000);
});
