import { describe, expect, it } from 'vitest';
import { builtinRules, ftm, lowrank } from '../rewrites/index.js';
import { applyRules, FtmError, measureLayerChoices, planMixed, profileLayers, Tensor, type LayerChoice, type MixedCandidate } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { memoryCalibration } from './helpers/memory-calib.js';

const choice = (rule: string, saving: number, error: number): LayerChoice => ({ rule, options: { k: saving }, removed: saving + 10, added: 10, error });
const picked = (plan: ReturnType<typeof planMixed>) => Object.fromEntries(plan.layers.filter((l) => l.rewrite).map((l) => [l.layer, `${l.rule}:${l.removed - l.added}`]));

describe('planMixed: the least total fit error that lands on the target', () => {
  const candidates: MixedCandidate[] = [
    { layer: 'a', choices: [choice('ftm', 100, 0.1), choice('ftm', 150, 0.5)] },
    { layer: 'b', choices: [choice('lowrank', 100, 0.2)] },
    { layer: 'c', choices: [], reason: 'depthwise convolution' },
  ];

  it('spreads the savings over two layers when that costs less error than one strong rewrite', () => {
    // 150 saved: a at its strongest (error 0.5), or a mild with b (0.1 + 0.2)
    expect(picked(planMixed(candidates, { targetRatio: 0.85, total: 1000 }))).toEqual({ a: 'ftm:100', b: 'lowrank:100' });
  });

  it('takes only what the target needs: 100 saved is the mild rewrite of a alone', () => {
    const plan = planMixed(candidates, { targetRatio: 0.9, total: 1000 });
    expect(picked(plan)).toEqual({ a: 'ftm:100' });
    expect(plan.achievedRatio).toBeCloseTo(0.9, 10);
    expect(plan.layers.find((l) => l.layer === 'b')!.reason).toMatch(/^kept/);
  });

  it('gives back what the price sweep overshoots: a middle choice off the convex hull', () => {
    // the price that reaches 0.8 jumps from a's mild choice to its strongest (300 saved, error 0.4); 200 is enough
    const a: MixedCandidate = { layer: 'a', choices: [choice('ftm', 100, 0.1), choice('ftm', 200, 0.35), choice('ftm', 300, 0.4)] };
    expect(picked(planMixed([a], { targetRatio: 0.8, total: 1000 }))).toEqual({ a: 'ftm:200' });
  });

  it('reaches the target with two small moves when the sweep would jump with one large one', () => {
    // 150 saved: a at its strongest (error 0.6), or a mild with b (0.1 + 0.3)
    const a: MixedCandidate = { layer: 'a', choices: [choice('ftm', 100, 0.1), choice('ftm', 300, 0.6)] };
    const b: MixedCandidate = { layer: 'b', choices: [choice('lowrank', 60, 0.3)] };
    expect(picked(planMixed([a, b], { targetRatio: 0.85, total: 1000 }))).toEqual({ a: 'ftm:100', b: 'lowrank:60' });
  });

  it('keeps the reason of a layer no rule rewrites, and the rule options of each choice', () => {
    const plan = planMixed(candidates, { targetRatio: 0.85, total: 1000 });
    expect(plan.layers.find((l) => l.layer === 'c')).toMatchObject({ rewrite: false, reason: 'depthwise convolution' });
    expect(plan.layers.find((l) => l.layer === 'a')).toMatchObject({ rule: 'ftm', ruleOptions: { k: 100 }, fitError: 0.1 });
  });

  it('says when the target is unreachable, with the smallest reachable ratio; best effort takes the strongest choices', () => {
    try {
      planMixed(candidates, { targetRatio: 0.5, total: 1000 });
      throw new Error('no error');
    } catch (e) {
      expect((e as FtmError).code).toBe('E_TARGET_UNREACHABLE');
      expect((e as Error).message).toContain('the smallest reachable with the mixed plan is 0.750');
    }
    const best = planMixed(candidates, { targetRatio: 0.5, total: 1000, bestEffort: true });
    expect(best.reachable).toBe(false);
    expect(picked(best)).toEqual({ a: 'ftm:150', b: 'lowrank:100' });
  });

  it('counts ratios against the reference count when intake changed the model', () => {
    expect(planMixed(candidates, { targetRatio: 0.9, total: 1000, reference: 1100 }).achievedRatio).toBeCloseTo(900 / 1100, 10);
  });
});

describe('mixed plan on a model: measured fit errors choose the rule and the layer', () => {
  // stem → A (a rank-2 weight: low-rank rewrites it exactly) → B (a random, full-rank weight)
  function model() {
    const { model, g, x } = modelWithInput(['N', 16, 8, 8]);
    const conv = (input: typeof x, name: string, w: ReturnType<typeof randomWeight>) =>
      g.addNode({ op: 'Relu', inputs: [g.addNode({ op: 'Conv', inputs: [input, w], name, attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!] }).outputs[0]!;
    const [u, v] = [randomFloats(16 * 2, 3), randomFloats(2 * 144, 4)];
    const lowRank = Float32Array.from({ length: 16 * 144 }, (_, i) => u[2 * Math.floor(i / 144)] * v[i % 144] + u[2 * Math.floor(i / 144) + 1] * v[144 + (i % 144)]);
    const stem = conv(x, 'stem', randomWeight(g, 'w0', [16, 16, 3, 3], 1));
    const a = conv(stem, 'A', g.addInitializer('wA', Tensor.float32([16, 16, 3, 3], lowRank)));
    g.outputs.push(conv(a, 'B', randomWeight(g, 'wB', [16, 16, 3, 3], 2)));
    return model;
  }

  it('rewrites the low-rank layer with low-rank, exactly, and keeps the full-rank one', async () => {
    const m = model();
    const calib = memoryCalibration('x', [16, 8, 8], randomFloats(64 * 16 * 64, 5));
    const profile = await profileLayers(m, calib, { threads: 1 });
    const candidates = await measureLayerChoices(m, [ftm, lowrank], profile.layers, calib, { threads: 1 });
    const a = candidates.find((c) => c.layer === 'A')!;
    expect(new Set(a.choices.map((c) => c.rule))).toEqual(new Set(['ftm', 'lowrank']));
    const plan = planMixed(candidates, { targetRatio: 0.75, total: 3 * 16 * 16 * 9 });
    expect(plan.layers.filter((l) => l.rewrite).map((l) => [l.layer, l.rule])).toEqual([['A', 'lowrank']]);
    expect(plan.layers.find((l) => l.layer === 'A')!.fitError).toBeLessThan(1e-4);
    expect(plan.layers.find((l) => l.layer === 'stem')!.reason).toMatch(/first convolution/);
  });
  it('measures a conv that reads another rewritten conv directly on the original input (no activation between)', async () => {
    const { model: m, g, x } = modelWithInput(['N', 8, 8, 8]);
    const stem = g.addNode({ op: 'Relu', inputs: [g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w0', [16, 8, 3, 3], 1)], name: 'stem', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!] }).outputs[0]!;
    const a = g.addNode({ op: 'Conv', inputs: [stem, randomWeight(g, 'wa', [16, 16, 3, 3], 2)], name: 'a', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [a, randomWeight(g, 'wb', [16, 16, 3, 3], 3)], name: 'b', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!);
    const calib = memoryCalibration('x', [8, 8, 8], randomFloats(32 * 8 * 64, 6));
    const profile = await profileLayers(m, calib, { threads: 1 });
    const candidates = await measureLayerChoices(m, [ftm, lowrank], profile.layers, calib, { threads: 1 });
    const b = candidates.find((c) => c.layer === 'b')!;
    expect(b.choices.length).toBe(ftm.meta.knob!.values.length + lowrank.meta.knob!.values.filter((v) => v < 1).length);
    for (const c of b.choices) expect(c.error).toBeGreaterThan(0);
  });
});

describe('the driver applies per-layer assignments', () => {
  it('rewrites each layer by its own rule at its own options, and nothing else', () => {
    const { model, g, x } = modelWithInput(['N', 8, 8, 8]);
    const stem = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w0', [16, 8, 3, 3], 1)], name: 'stem', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
    const a = g.addNode({ op: 'Conv', inputs: [stem, randomWeight(g, 'wa', [16, 16, 3, 3], 2)], name: 'a', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
    const b = g.addNode({ op: 'Conv', inputs: [a, randomWeight(g, 'wb', [16, 16, 3, 3], 3)], name: 'b', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [b, randomWeight(g, 'wc', [16, 16, 3, 3], 4)], name: 'c', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!);
    const done = applyRules(model, [ftm, lowrank], { assignments: { a: { rule: 'ftm', options: { s: 4 } }, b: { rule: 'lowrank', options: { rank: 3 } } } });
    const fired = done.records.filter((r) => r.status === 'fired').map((r) => [r.node, r.rule]);
    expect(fired).toEqual([['a', 'ftm'], ['b', 'lowrank']]);
    const alone = (rule: string, options: Record<string, unknown>, layer: string) => applyRules(model, [builtinRules[rule]], { layers: [layer], options: { [rule]: options } }).paramsAfter;
    expect(done.paramsAfter - done.paramsBefore).toBe(alone('ftm', { s: 4 }, 'a') - done.paramsBefore + alone('lowrank', { rank: 3 }, 'b') - done.paramsBefore);
    expect(alone('ftm', { s: 4 }, 'a')).not.toBe(alone('ftm', { s: 2 }, 'a'));
  });

  it('refuses a layer assigned to a rule that is not applied', () => {
    const { model, g, x } = modelWithInput(['N', 8, 8, 8]);
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [8, 8, 3, 3], 1)], name: 'a' }).outputs[0]!);
    expect(() => applyRules(model, [ftm], { assignments: { a: { rule: 'prune' } } })).toThrow(/layer "a" is assigned to rule "prune", which is not applied \(rules: ftm\)/);
  });
});
