import { describe, expect, it } from 'vitest';
import { applyRules, FtmError, loadModel, planRewrites } from '../src/index.js';
import { builtinRules, ftm } from '../rewrites/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';

const fixture = loadModel('fixtures/resnet20/model.onnx');
const rewrittenLayers = (p: ReturnType<typeof planRewrites>) => p.layers.filter((l) => l.rewrite).map((l) => l.layer);

describe('planning to a target parameter ratio', () => {
  it.each(['ftm', 'lowrank', 'prune'])('%s lands within 0.01 of 0.5, 0.3 and 0.21, and the rewrite achieves what the plan says', (name) => {
    const rule = builtinRules[name];
    for (const target of [0.5, 0.3, 0.21]) {
      const plan = planRewrites(fixture, rule, { targetRatio: target });
      expect(Math.abs(plan.achievedRatio - target)).toBeLessThanOrEqual(0.01);
      const done = applyRules(fixture, [rule], { layers: rewrittenLayers(plan), options: { [name]: plan.ruleOptions } });
      expect(done.paramsAfter).toBe(plan.paramsAfter);
      expect(done.records.every((r) => r.status === 'fired' || r.status === 'skipped')).toBe(true);
    }
  });

  it('counts a layer another rewrite takes with it once: pruning a chain of convs (VGG-style) plans what the rewrite achieves', () => {
    const vgg = loadModel('fixtures/vgg/model.onnx');
    for (const target of [0.5, 0.3, 0.21]) {
      const plan = planRewrites(vgg, builtinRules.prune, { targetRatio: target, bestEffort: true });
      const done = applyRules(vgg, [builtinRules.prune], { layers: rewrittenLayers(plan), options: { prune: plan.ruleOptions } });
      expect(done.records.map((r) => r.status)).toEqual(rewrittenLayers(plan).map(() => 'fired'));
      expect(done.paramsAfter).toBe(plan.paramsAfter);
      for (const l of plan.layers.filter((l) => l.takenBy)) expect(rewrittenLayers(plan)).toContain(l.takenBy);
    }
    expect(planRewrites(vgg, builtinRules.prune, { targetRatio: 0.21 }).reachable).toBe(true);
  });

  it('turns the knob only as far as needed: FTM stays at S=2 while it can, and goes to S=3 for 0.06', () => {
    expect(planRewrites(fixture, ftm, { targetRatio: 0.21 }).ruleOptions.s).toBe(2);
    expect(planRewrites(fixture, ftm, { targetRatio: 0.06 }).ruleOptions.s).toBe(3);
  });

  it('rewrites the most redundant layers first and gives back the least redundant', () => {
    const convs = fixture.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.name!);
    const scores = Object.fromEntries(convs.map((c, i) => [c, i])); // later layers "more redundant"
    const plan = planRewrites(fixture, ftm, { targetRatio: 0.5, scores });
    const chosen = rewrittenLayers(plan);
    const kept = plan.layers.filter((l) => !l.rewrite && l.reason === 'kept to land on the target ratio').map((l) => l.layer);
    expect(Math.min(...chosen.map((c) => scores[c]))).toBeGreaterThan(Math.max(...kept.filter((k) => scores[k] < 16).map((k) => scores[k])));
    expect(chosen).toContain('/layer3/layer3.2/conv2/Conv');
  });

  it('respects --include and --exclude', () => {
    const exclude = ['/layer3/layer3.2/conv2/Conv', '/layer3/layer3.2/conv1/Conv'];
    const plan = planRewrites(fixture, ftm, { targetRatio: 0.5, exclude });
    for (const e of exclude) expect(plan.layers.find((l) => l.layer === e)).toMatchObject({ rewrite: false, reason: 'excluded' });
    const only = planRewrites(fixture, ftm, { targetRatio: 0.9, include: ['/layer3/layer3.1/conv1/Conv'] });
    expect(rewrittenLayers(only)).toEqual(['/layer3/layer3.1/conv1/Conv']);
  });

  it('says when the target is unreachable, with the smallest reachable ratio; --best-effort takes it', () => {
    // A MobileNet-like block: a depthwise 3×3 (FTM declines) and a 1×1 (FTM halves it at best)
    const { model, g, x } = modelWithInput(['N', 32, 8, 8]);
    const pre = g.addNode({ op: 'Relu', inputs: [x] }).outputs[0]!;
    const dw = g.addNode({ op: 'Conv', inputs: [pre, randomWeight(g, 'dw', [32, 1, 3, 3], 1)], name: 'dw', attrs: { group: 32, pads: [1, 1, 1, 1] } }).outputs[0]!;
    const pw = g.addNode({ op: 'Conv', inputs: [dw, randomWeight(g, 'pw', [64, 32, 1, 1], 2)], name: 'pw' }).outputs[0]!;
    g.outputs.push(pw);
    try {
      planRewrites(model, ftm, { targetRatio: 0.1 });
      throw new Error('no error');
    } catch (e) {
      expect((e as FtmError).code).toBe('E_TARGET_UNREACHABLE');
      expect((e as Error).message).toMatch(/cannot reach parameter ratio 0.1: the smallest reachable with rule "ftm" on the qualifying layers is 0\.\d{3}/);
    }
    const best = planRewrites(model, ftm, { targetRatio: 0.1, bestEffort: true });
    expect(best.reachable).toBe(false);
    expect(best.layers.find((l) => l.layer === 'dw')!.reason).toBe('depthwise convolution');
    expect(best.achievedRatio).toBeCloseTo(best.minRatio, 10);
  });

  it.each([0, -0.2, 1.5, Number.NaN])('rejects target ratio %s', (r) => {
    expect(() => planRewrites(fixture, ftm, { targetRatio: r })).toThrow(/--target-ratio must be in \(0, 1\]/);
  });
});
