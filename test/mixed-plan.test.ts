import { describe, expect, it } from 'vitest';
import { builtinRules, ftm, lowrank, prune } from '../rewrites/index.js';
import { applyRules, compressModel, FtmError, measureLayerChoices, mixedTrialShare, planMixed, profileLayers, Tensor, type AnyRule, type CalibrationSet, type LayerChoice, type MixedCandidate, type Model } from '../src/index.js';
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

  describe('a choice that takes other layers with it (prune and its consumers)', () => {
    // a → b → c: pruning a takes b, pruning b takes c
    const takes = (rule: string, saving: number, error: number, consumes: string[]): LayerChoice => ({ ...choice(rule, saving, error), consumes });
    const chain: MixedCandidate[] = [
      { layer: 'a', choices: [choice('ftm', 100, 0.2), takes('prune', 300, 0.1, ['b'])] },
      { layer: 'b', choices: [choice('ftm', 200, 0.3), takes('prune', 300, 0.25, ['c'])] },
      { layer: 'c', choices: [choice('lowrank', 200, 0.15)] },
    ];
    const chosen = (plan: ReturnType<typeof planMixed>, layer: string) => {
      const l = plan.layers.find((p) => p.layer === layer)!;
      return chain.find((c) => c.layer === layer)!.choices.find((ch) => l.rewrite && ch.rule === l.rule && ch.options === l.ruleOptions);
    };
    const isTaken = (plan: ReturnType<typeof planMixed>, layer: string) => chain.some((c) => chosen(plan, c.layer)?.consumes?.includes(layer));

    it('weighs the taker against what the taken layers would do themselves', () => {
      // 300 saved: prune a (0.1) beats ftm on a and b (0.5); b is left as it is, with the reason
      const plan = planMixed(chain, { targetRatio: 0.7, total: 1000 });
      expect(picked(plan)).toEqual({ a: 'prune:300' });
      expect(plan.layers.find((l) => l.layer === 'b')!.reason).toBe('taken with the rewrite at a (prune), which counts its parameters');
      // 500 saved: prune a with c's low-rank (0.25) beats prune b with ftm on a (0.45)
      expect(picked(planMixed(chain, { targetRatio: 0.5, total: 1000 }))).toEqual({ a: 'prune:300', c: 'lowrank:200' });
    });

    it('never rewrites a layer a chosen rewrite takes, at any target, and the strongest plan respects it too', () => {
      for (let ratio = 0.95; ratio > 0.3; ratio -= 0.05) {
        const plan = planMixed(chain, { targetRatio: ratio, total: 1000, bestEffort: true });
        for (const l of plan.layers.filter((l) => l.rewrite)) expect(isTaken(plan, l.layer)).toBe(false);
        expect(plan.paramsAfter).toBe(1000 - plan.layers.reduce((n, l) => n + l.removed - l.added, 0));
      }
      // the most saving without conflicts: prune a + lowrank c (500), not the sum of all choices' strongest (800)
      expect(planMixed(chain, { targetRatio: 0.1, total: 1000, bestEffort: true }).minRatio).toBeCloseTo(0.5, 10);
    });
  });

  it('counts ratios against the reference count when intake changed the model', () => {
    expect(planMixed(candidates, { targetRatio: 0.9, total: 1000, reference: 1100 }).achievedRatio).toBeCloseTo(900 / 1100, 10);
  });
});

type Built = ReturnType<typeof modelWithInput>;

/** Conv (pads 1) → Relu, appended to the graph. */
const convRelu = (g: Built['g'], input: Built['x'], name: string, w: ReturnType<typeof randomWeight>) =>
  g.addNode({ op: 'Relu', inputs: [g.addNode({ op: 'Conv', inputs: [input, w], name, attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!] }).outputs[0]!;

/** Every layer's choices under the rules, measured on random calibration samples. */
async function choicesOf(m: Model, rules: AnyRule[], calib: CalibrationSet): Promise<MixedCandidate[]> {
  const profile = await profileLayers(m, calib, { threads: 1 });
  return measureLayerChoices(m, rules, profile.layers, calib, { threads: 1 });
}

describe('mixed plan on a model: measured fit errors choose the rule and the layer', () => {
  // stem → A (a rank-2 weight: low-rank rewrites it exactly) → B (a random, full-rank weight)
  function model() {
    const { model, g, x } = modelWithInput(['N', 16, 8, 8]);
    const conv = (input: typeof x, name: string, w: ReturnType<typeof randomWeight>) => convRelu(g, input, name, w);
    const [u, v] = [randomFloats(16 * 2, 3), randomFloats(2 * 144, 4)];
    const lowRank = Float32Array.from({ length: 16 * 144 }, (_, i) => u[2 * Math.floor(i / 144)] * v[i % 144] + u[2 * Math.floor(i / 144) + 1] * v[144 + (i % 144)]);
    const stem = conv(x, 'stem', randomWeight(g, 'w0', [16, 16, 3, 3], 1));
    const a = conv(stem, 'A', g.addInitializer('wA', Tensor.float32([16, 16, 3, 3], lowRank)));
    g.outputs.push(conv(a, 'B', randomWeight(g, 'wB', [16, 16, 3, 3], 2)));
    return model;
  }

  it('rewrites the low-rank layer with low-rank, exactly, and keeps the full-rank one', async () => {
    const m = model();
    const candidates = await choicesOf(m, [ftm, lowrank], memoryCalibration('x', [16, 8, 8], randomFloats(64 * 16 * 64, 5)));
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
    const candidates = await choicesOf(m, [ftm, lowrank], memoryCalibration('x', [8, 8, 8], randomFloats(32 * 8 * 64, 6)));
    const b = candidates.find((c) => c.layer === 'b')!;
    expect(b.choices.length).toBe(ftm.meta.knob!.values.length + lowrank.meta.knob!.values.filter((v) => v < 1).length);
    for (const c of b.choices) expect(c.error).toBeGreaterThan(0);
  });
});

describe('the default rule (auto): the mixed plan where its trial fits cost a few of the fits it improves, FTM alone where not', () => {
  // stem → A → B, both 3×3 over 64 channels (a patch of 576): the same layers seen at many positions or at few
  function model() {
    const { model, g, x } = modelWithInput(['N', 16, 'H', 'W']);
    const stem = convRelu(g, x, 'stem', randomWeight(g, 'w0', [64, 16, 3, 3], 1));
    const a = convRelu(g, stem, 'A', randomWeight(g, 'wA', [64, 64, 3, 3], 2));
    g.outputs.push(convRelu(g, a, 'B', randomWeight(g, 'wB', [64, 64, 3, 3], 3)));
    return model;
  }
  const rules = [ftm, lowrank, prune];
  const many = memoryCalibration('x', [16, 16, 16], randomFloats(128 * 16 * 256, 4));
  const few = memoryCalibration('x', [16, 4, 4], randomFloats(16 * 16 * 16, 5));

  it('estimates the trials at about two fits where positions outnumber the patch, towards one per setting where they do not', async () => {
    const m = model();
    const settings = rules.reduce((n, r) => n + r.meta.knob!.values.length, 0);
    const [wide, narrow] = [await profileLayers(m, few, { threads: 1 }), await profileLayers(m, many, { threads: 1 })].map((p) => mixedTrialShare(m, rules, p.layers));
    expect(narrow).toBeGreaterThan(2);
    expect(narrow).toBeLessThan(3);
    expect(wide).toBeGreaterThan(3 * narrow);
    expect(wide).toBeLessThan(settings);
  });

  it('plans with the rules mixed on many positions and with the fallback on few, and the report says which and why', async () => {
    const job = (calib: CalibrationSet) => compressModel(model(), calib, { targetRatio: 0.6, rule: rules, fallback: { rule: ftm, above: 3 }, bestEffort: true, allowSlower: true, distill: false, threads: 1 });
    const [onMany, onFew] = [(await job(many)).report, (await job(few)).report];
    expect(onMany.ruleChoice).toMatchObject({ chosen: 'mixed', above: 3 });
    expect(onMany.rule).toBe('ftm+lowrank+prune');
    expect(onMany.seconds['trial-fit']).toBeGreaterThan(0);
    expect(onFew.ruleChoice).toMatchObject({ chosen: 'fallback', above: 3, fallback: 'ftm' });
    expect(onFew.ruleChoice!.trialShare).toBeGreaterThan(3);
    expect(onFew.rule).toBe('ftm');
    expect(onFew.seconds['trial-fit']).toBe(0);
    expect(onFew.layers.filter((l) => l.rewritten).length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a fallback for a single rule, or a limit below 1, before any work', async () => {
    await expect(compressModel(model(), few, { targetRatio: 0.6, rule: ftm, fallback: { rule: ftm, above: 3 } })).rejects.toThrow(/a fallback rule stands in for a mixed plan; found the single rule "ftm"/);
    await expect(compressModel(model(), few, { targetRatio: 0.6, rule: rules, fallback: { rule: ftm, above: 0.5 } })).rejects.toThrow(/expected the fallback's share limit to be at least 1/);
  });
});

describe('trial-fit progress', () => {
  it('weighs each layer by its estimated work, so that one wide layer does not throw the ETA', async () => {
    // stem → a (3×3 over 16 channels: a patch of 154) → b (1×1 over 16: a patch of 18)
    const { model: m, g, x } = modelWithInput(['N', 8, 8, 8]);
    const stem = convRelu(g, x, 'stem', randomWeight(g, 'w0', [16, 8, 3, 3], 1));
    const a = convRelu(g, stem, 'a', randomWeight(g, 'wa', [16, 16, 3, 3], 2));
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [a, randomWeight(g, 'wb', [16, 16, 1, 1], 3)], name: 'b' }).outputs[0]!);
    const calib = memoryCalibration('x', [8, 8, 8], randomFloats(16 * 8 * 64, 9));
    const progress: [number, number, string][] = [];
    const profile = await profileLayers(m, calib, { threads: 1 });
    await measureLayerChoices(m, [lowrank], profile.layers, calib, { threads: 1, onProgress: (...p) => progress.push(p) });
    expect(progress.map((p) => p[2])).toEqual(['a', 'b']);
    expect(progress[1][0]).toBe(progress[1][1]);
    expect(progress[0][0] / progress[0][1]).toBeGreaterThan(0.9);
  });
});

describe('mixed plan with prune: a pruned layer takes its consumer', () => {
  // stem → A (half its output channels have zero kernels: pruning them loses nothing) → B → C
  function model() {
    const { model, g, x } = modelWithInput(['N', 8, 8, 8]);
    const conv = (input: typeof x, name: string, w: ReturnType<typeof randomWeight>) => convRelu(g, input, name, w);
    const half = randomFloats(16 * 16 * 9, 7).map((v, i) => (Math.floor(i / 144) % 2 ? 0 : v));
    const stem = conv(x, 'stem', randomWeight(g, 'w0', [16, 8, 3, 3], 1));
    const a = conv(stem, 'A', g.addInitializer('wA', Tensor.float32([16, 16, 3, 3], half)));
    const b = conv(a, 'B', randomWeight(g, 'wB', [16, 16, 3, 3], 2));
    g.outputs.push(conv(b, 'C', randomWeight(g, 'wC', [16, 16, 3, 3], 3)));
    return model;
  }

  const m = model();
  const measured = choicesOf(m, [prune], memoryCalibration('x', [8, 8, 8], randomFloats(48 * 8 * 64, 8)));

  it('measures every layer\'s prune, even where another prune takes it, on the original\'s kept channels', async () => {
    const candidates = await measured;
    const pruned = (layer: string) => candidates.find((c) => c.layer === layer)!.choices;
    expect(pruned('A').map((c) => c.options.ratio)).toEqual(prune.meta.knob!.values);
    expect(pruned('B').length).toBe(prune.meta.knob!.values.length);
    expect(pruned('A').every((c) => c.consumes?.includes('B'))).toBe(true);
    // ratio 0.5 keeps A's eight non-zero channels: B refitted on them is exact, and nothing is dropped
    const exact = pruned('A').find((c) => c.options.ratio === 0.5)!;
    expect(exact.error).toBeLessThan(1e-6);
    for (const c of [...pruned('A'), ...pruned('B')]) if (c !== exact) expect(c.error).toBeGreaterThan(1e-3);
    // C feeds the graph output: its prune has no consumer to refit and no error to weigh, so it is no choice
    expect(candidates.find((c) => c.layer === 'C')).toMatchObject({ choices: [] });
  });

  it('plans A pruned at one half, and leaves B to it', async () => {
    const plan = planMixed(await measured, { targetRatio: 0.8, total: 3 * 16 * 16 * 9 + 16 * 8 * 9 });
    expect(plan.layers.filter((l) => l.rewrite).map((l) => [l.layer, l.rule, l.ruleOptions])).toEqual([['A', 'prune', { ratio: 0.5 }]]);
    expect(plan.layers.find((l) => l.layer === 'B')!.reason).toMatch(/^taken with the rewrite at A \(prune\)/);
    const done = applyRules(m, [prune], { assignments: Object.fromEntries(plan.layers.filter((l) => l.rewrite).map((l) => [l.layer, { rule: l.rule!, options: l.ruleOptions }])) });
    expect(done.paramsAfter).toBe(plan.paramsAfter);
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
