import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ftm } from '../rewrites/index.js';
import { compressModel, encodeModel, FtmError, LATENCY_NOISE, loadCalibration, loadModel, planRewrites, planWithLatency, readPreprocessFile, timeLayerRewrites, type LayerTiming, type MeasureRewrites } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';
import { cli } from './helpers/cli.js';

const FIXTURE = 'fixtures/resnet20/';
const fixture = loadModel(`${FIXTURE}model.onnx`);
const SHORTCUTS = ['/layer2/layer2.0/shortcut/conv/Conv', '/layer3/layer3.0/shortcut/conv/Conv'];
const rewritten = (p: { layers: { layer: string; rewrite: boolean }[] }) => p.layers.filter((l) => l.rewrite).map((l) => l.layer);

/** A stand-in for timeLayerRewrites: each layer's rewrite takes `ratio(layer)` of the layer's time, at batch 1 and 8. */
function fakeTimer(ratio: (layer: string) => number | undefined) {
  const calls: { layers: string[]; s: unknown }[] = [];
  const measure: MeasureRewrites = async (layers, ruleOptions) => {
    calls.push({ layers, s: ruleOptions.s });
    return layers.map((layer): LayerTiming => {
      const r = ratio(layer);
      if (r === undefined) return { layer, skipped: 'its input shape is not known before running the model' };
      return { layer, timings: [1, 8].map((batch) => ({ batch, runs: 5, originalMs: batch, compressedMs: batch * r, ratio: r })) };
    });
  };
  return { measure, calls };
}

describe('planning with each rewrite timed against its layer (injected timings)', () => {
  it('params: with every rewrite faster, the plan is planRewrites\' plan, and the timings are kept', async () => {
    const { measure, calls } = fakeTimer(() => 0.7);
    for (const target of [0.5, 0.21]) {
      const timed = await planWithLatency(fixture, ftm, { targetRatio: target }, measure);
      const plain = planRewrites(fixture, ftm, { targetRatio: target });
      expect(rewritten(timed)).toEqual(rewritten(plain));
      expect(timed.achievedRatio).toBe(plain.achievedRatio);
      expect(timed.objective).toBe('params');
      expect(timed.latency!.map((t) => t.layer)).toEqual(calls.at(-1)!.layers);
    }
    // Only the candidates are timed: layers the rule declines (the first conv) are not.
    expect(calls[0].layers).toHaveLength(20);
    expect(calls[0].layers).not.toContain('/conv1/Conv');
  });

  it('params: slower rewrites the plan gives back anyway change nothing: the plan is planRewrites\' plan', async () => {
    const plain = planRewrites(fixture, ftm, { targetRatio: 0.21 });
    const givenBack = plain.layers.filter((l) => l.reason === 'kept to land on the target ratio').map((l) => l.layer);
    expect(givenBack).toEqual(expect.arrayContaining(SHORTCUTS));
    const { measure } = fakeTimer((l) => (givenBack.includes(l) ? 1.5 : 0.7));
    const timed = await planWithLatency(fixture, ftm, { targetRatio: 0.21 }, measure);
    expect(timed.layers.map(({ latencyRatio: _, ...l }) => l)).toEqual(plain.layers);
    expect(timed.layers.find((l) => l.layer === SHORTCUTS[0])!.latencyRatio).toBe(1.5);
  });

  it('params: a rewrite slower than its layer beyond the noise band is left out, with the reason; one inside the band is not', async () => {
    const [slower, inBand] = ['/layer2/layer2.2/conv1/Conv', '/layer2/layer2.1/conv2/Conv'];
    const { measure } = fakeTimer((l) => (l === slower ? 1.3 : l === inBand ? 1 + LATENCY_NOISE / 2 : 0.7));
    // At 0.21 the planner rewrites both when nothing is timed.
    expect(rewritten(planRewrites(fixture, ftm, { targetRatio: 0.21 }))).toEqual(expect.arrayContaining([slower, inBand]));
    const plan = await planWithLatency(fixture, ftm, { targetRatio: 0.21 }, measure);
    expect(plan.layers.find((l) => l.layer === slower)).toMatchObject({ rewrite: false, reason: 'its rewrite is slower than the layer on onnxruntime', latencyRatio: 1.3 });
    expect(plan.layers.find((l) => l.layer === inBand)!.rewrite).toBe(true);
    expect(plan.reachable).toBe(true);
    expect(Math.abs(plan.achievedRatio - 0.21)).toBeLessThanOrEqual(0.01);
  });

  it('params: a target only the slower rewrites could reach is E_TARGET_UNREACHABLE saying how many layers latency excluded; --best-effort takes the closest', async () => {
    const slow = new Set(fixture.graph.nodes.filter((n) => n.name?.startsWith('/layer3')).map((n) => n.name!));
    const { measure } = fakeTimer((l) => (slow.has(l) ? 2 : 0.7));
    const error = await planWithLatency(fixture, ftm, { targetRatio: 0.21, ruleOptions: { s: 2 } }, measure).catch((e: unknown) => e);
    expect((error as FtmError).code).toBe('E_TARGET_UNREACHABLE');
    expect((error as Error).message).toMatch(
      /^cannot reach parameter ratio 0\.21: the smallest reachable with rule "ftm" on the qualifying layers is 0\.\d{3} \(13 layers can be rewritten\); latency excluded 7 more layers \(the rewrite is slower than the layer on onnxruntime; --allow-slower rewrites them anyway\); use --best-effort to accept it$/,
    );
    const best = await planWithLatency(fixture, ftm, { targetRatio: 0.21, ruleOptions: { s: 2 }, bestEffort: true }, measure);
    expect(best.reachable).toBe(false);
    expect(rewritten(best).some((l) => slow.has(l))).toBe(false);
    expect(best.achievedRatio).toBeCloseTo(best.minRatio, 10);
  });

  it('times only the settings of the knob that can reach the target: at 0.06 S = 2 cannot, so only S = 3 is timed', async () => {
    const { measure, calls } = fakeTimer(() => 0.7);
    const plan = await planWithLatency(fixture, ftm, { targetRatio: 0.06 }, measure);
    expect(plan.ruleOptions.s).toBe(3);
    expect(calls.map((c) => c.s)).toEqual([3]);
  });

  it('passes over, untimed, the settings that cannot reach the target without the layers the last timed one left out; the last is timed', async () => {
    const { measure, calls } = fakeTimer(() => 2);
    const plan = await planWithLatency(fixture, ftm, { targetRatio: 0.21, bestEffort: true }, measure);
    expect(calls.map((c) => c.s)).toEqual([2, 8]);
    expect(plan.ruleOptions.s).toBe(8);
    expect(rewritten(plan)).toEqual([]);
    expect(plan.achievedRatio).toBe(1);
  });

  it('latency: every rewrite timed faster beyond the noise band is made and no other, whatever the target below it; the target is a ceiling', async () => {
    const ratios = new Map(fixture.graph.nodes.map((n, i) => [n.name!, i % 3 === 0 ? 0.5 : i % 3 === 1 ? 0.95 : 1.5]));
    const { measure } = fakeTimer((l) => ratios.get(l));
    const plan = await planWithLatency(fixture, ftm, { targetRatio: 1, objective: 'latency' }, measure);
    const timed = plan.latency!.map((t) => t.layer);
    expect(rewritten(plan).sort()).toEqual(timed.filter((l) => ratios.get(l)! < 1 - LATENCY_NOISE).sort());
    for (const l of plan.layers.filter((x) => timed.includes(x.layer) && !x.rewrite)) expect(l.reason).toBe('its rewrite is not faster than the layer on onnxruntime');
    expect(plan.achievedRatio).toBeLessThan(1);
    const error = await planWithLatency(fixture, ftm, { targetRatio: 0.21, objective: 'latency', ruleOptions: { s: 2 } }, measure).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/latency excluded \d+ more layers \(the rewrite is not faster than the layer on onnxruntime; --objective params takes them\)/);
  });

  it('latency: a rewrite that could not be timed is not made; params keeps it', async () => {
    const untimed = '/layer3/layer3.2/conv2/Conv';
    const { measure } = fakeTimer((l) => (l === untimed ? undefined : 0.7));
    const latency = await planWithLatency(fixture, ftm, { targetRatio: 1, objective: 'latency' }, measure);
    expect(latency.layers.find((l) => l.layer === untimed)).toMatchObject({ rewrite: false, reason: 'its rewrite was not timed: its input shape is not known before running the model' });
    const params = await planWithLatency(fixture, ftm, { targetRatio: 0.21 }, measure);
    expect(params.layers.find((l) => l.layer === untimed)!.rewrite).toBe(true);
  });

  it('both: lands on the target with faster rewrites only, giving back the least speed-up first', async () => {
    // The same savings order as params would use, but one layer gains least: it is the first given back.
    const leastGain = '/layer3/layer3.2/conv2/Conv';
    const { measure } = fakeTimer((l) => (l === leastGain ? 0.85 : SHORTCUTS.includes(l) ? 0.95 : 0.6));
    const both = await planWithLatency(fixture, ftm, { targetRatio: 0.5, objective: 'both' }, measure);
    expect(Math.abs(both.achievedRatio - 0.5)).toBeLessThanOrEqual(0.01);
    expect(both.layers.find((l) => l.layer === leastGain)).toMatchObject({ rewrite: false, reason: 'kept to land on the target ratio' });
    for (const s of SHORTCUTS) expect(both.layers.find((l) => l.layer === s)).toMatchObject({ rewrite: false, reason: 'its rewrite is not faster than the layer on onnxruntime' });
    const params = await planWithLatency(fixture, ftm, { targetRatio: 0.5, objective: 'params' }, measure);
    expect(params.layers.find((l) => l.layer === leastGain)!.rewrite).toBe(true);
  });
});

describe('timing each layer alone against its rewrite on onnxruntime (real measurements: structure only)', () => {
  it('times the fixture\'s layers at batch 1 and the larger batch, each ratio the rewrite\'s median over the layer\'s', async () => {
    const layers = ['/layer1/layer1.0/conv1/Conv', SHORTCUTS[0]];
    const timed = await timeLayerRewrites(fixture, ftm, layers, { s: 2 }, { batchSize: 4, seconds: 0.01, threads: 1 });
    expect(timed.map((t) => t.layer)).toEqual(layers);
    for (const t of timed) {
      if (!('timings' in t)) throw new Error(`not timed: ${t.skipped}`);
      expect(t.timings.map((b) => b.batch)).toEqual([1, 4]);
      for (const b of t.timings) {
        expect(b.runs).toBeGreaterThanOrEqual(5);
        expect(b.originalMs).toBeGreaterThan(0);
        expect(b.ratio).toBeCloseTo(b.compressedMs / b.originalMs, 12);
      }
    }
  });

  it('says why a layer is not timed: a rewrite the rule declines on the layer alone, an input shape not known statically', async () => {
    const { model, g, x } = modelWithInput(['N', 8, 16, 16]);
    const dw = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'dw', [8, 1, 3, 3], 1)], name: 'dw', attrs: { group: 8, pads: [1, 1, 1, 1] } }).outputs[0]!;
    // A shape computed at run time: static propagation cannot follow it.
    const shape = g.addNode({ op: 'Shape', inputs: [x] }).outputs[0]!;
    const flat = g.addNode({ op: 'Reshape', inputs: [dw, shape] }).outputs[0]!;
    const pw = g.addNode({ op: 'Conv', inputs: [flat, randomWeight(g, 'pw', [16, 8, 1, 1], 2)], name: 'pw' }).outputs[0]!;
    g.outputs.push(pw);
    const timed = await timeLayerRewrites(model, ftm, ['dw', 'pw'], { s: 2 }, { seconds: 0.01, threads: 1 });
    expect(timed).toEqual([
      { layer: 'dw', skipped: 'the rule does not rewrite the layer cut out alone: depthwise convolution' },
      { layer: 'pw', skipped: 'its input shape is not known before running the model' },
    ]);
  });
});

describe('the main job plans with latency by default', () => {
  it('params: the plan on parameters alone is timed whole first and kept when not slower (no layer timed alone, the same model as allowSlower); otherwise every candidate is timed and the slower left out', async () => {
    const calib = await loadCalibration(`${FIXTURE}calib`, fixture, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 32 });
    const { model, report } = await compressModel(fixture, calib, { rule: ftm, targetRatio: 0.5, distill: false, threads: 1, batchSize: 16 });
    const plain = await compressModel(fixture, calib, { rule: ftm, targetRatio: 0.5, distill: false, threads: 1, batchSize: 16, allowSlower: true });
    expect(plain.report.layerLatency).toBeUndefined();
    expect(plain.report.draftLatency).toBeUndefined();
    expect(plain.report.seconds['layer-latency']).toBe(0);
    expect(report.objective).toBe('params');
    expect(report.seconds['layer-latency']).toBeGreaterThan(0);
    // Which branch runs depends on the machine; each must hold what it promises.
    if (report.draftLatency) {
      const timed = [report.draftLatency.batch1, report.draftLatency.batchN];
      expect(timed.map((t) => t?.batch)).toEqual([1, 16]);
      for (const t of timed) expect(t!.ratio).toBeLessThanOrEqual(1 + LATENCY_NOISE);
      expect(report.layerLatency).toBeUndefined();
      expect(encodeModel(model)).toEqual(encodeModel(plain.model));
      return;
    }
    expect(report.layerLatency!.map((t) => t.layer)).toHaveLength(20);
    // Per layer, the job times batch 1 only (bench/latency.md says why).
    const ratio = new Map(report.layerLatency!.map((t) => [t.layer, 'timings' in t && t.timings.length === 1 && t.timings[0].batch === 1 ? t.timings[0].ratio : undefined]));
    expect([...ratio.values()].every((r) => r !== undefined)).toBe(true);
    for (const l of report.layers.filter((x) => x.reason === 'its rewrite is slower than the layer on onnxruntime')) expect(ratio.get(l.layer)).toBeGreaterThan(1 + LATENCY_NOISE);
    for (const l of report.layers.filter((x) => x.rewritten)) expect(ratio.get(l.layer)).toBeLessThanOrEqual(1 + LATENCY_NOISE);
  }, 300_000);

  it('the other objectives time every candidate', async () => {
    const calib = await loadCalibration(`${FIXTURE}calib`, fixture, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 32 });
    const { report } = await compressModel(fixture, calib, { rule: ftm, targetRatio: 1, objective: 'latency', distill: false, threads: 1, batchSize: 16 });
    expect(report.draftLatency).toBeUndefined();
    expect(report.layerLatency).toHaveLength(20);
  }, 300_000);

  it('refuses an objective it does not know, and allowSlower with an objective that needs the timings', async () => {
    const calib = await loadCalibration(`${FIXTURE}calib`, fixture, { ...readPreprocessFile(`${FIXTURE}preprocess.json`), limit: 8 });
    await expect(compressModel(fixture, calib, { rule: ftm, targetRatio: 0.5, objective: 'speed' as never })).rejects.toThrow(/expected the objective to be one of params, latency, both, found "speed"/);
    await expect(compressModel(fixture, calib, { rule: ftm, targetRatio: 0.5, objective: 'both', allowSlower: true })).rejects.toThrow(/allowSlower plans on parameters alone; the objective "both" needs each layer timed/);
  });
});

describe('the CLI: --objective and --allow-slower', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-objective-'));
  const CALIB = ['--calib', `${FIXTURE}calib`, '--preprocess', `${FIXTURE}preprocess.json`, '--calib-limit', '32', '--no-distill'];

  it.each([
    ['--objective latency without the measurement', ['--objective', 'latency', '--no-latency'], /--objective latency needs the latency measurement; --no-latency turns it off/],
    ['--allow-slower with --objective both', ['--objective', 'both', '--allow-slower'], /--allow-slower plans on parameters alone; --objective both needs each layer timed/],
    ['an unknown objective', ['--objective', 'speed'], /Invalid values: Argument: objective, Given: "speed", Choices: "params", "latency", "both"/],
  ])('refuses %s before any work (E_USAGE, 40)', (_, extra, message) => {
    const r = cli([`${FIXTURE}model.onnx`, ...CALIB, '--target-ratio', '0.5', '-o', join(dir, 'never.onnx'), ...extra]);
    expect(r.status).toBe(40);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  });

  it('--objective latency --target-ratio 1: only rewrites timed faster beyond the noise band, said in the summary and the report', () => {
    // The limit of 100 keeps the whole-model timing out of the verdict: this checks what was planned, not the machine.
    const r = cli([`${FIXTURE}model.onnx`, ...CALIB, '--target-ratio', '1', '--objective', 'latency', '--max-latency-ratio', '100', '-o', join(dir, 'fast.onnx'), '--report', join(dir, 'fast.json')]);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'fast.json'), 'utf8'));
    expect(report.objective).toBe('latency');
    const ratio = new Map<string, number>(report.layerLatency.map((t: { layer: string; timings: { ratio: number }[] }) => [t.layer, Math.max(...t.timings.map((b) => b.ratio))]));
    for (const l of report.layers) {
      if (l.rewritten) expect(ratio.get(l.layer)).toBeLessThan(1 - LATENCY_NOISE);
      else if (ratio.has(l.layer)) expect(l.reason).toBe('its rewrite is not faster than the layer on onnxruntime');
    }
    expect(r.stdout).toMatch(/^candidate layers timed alone against their rewrites at batch 1 \(objective latency\): 20 of 20 timed, rewrite \/ layer \d\.\d\d–\d\.\d\d; (none left out for latency|left out for latency: .+)$/m);
    expect(r.stdout).toMatch(/^time [\d.]+ s \(profile [\d.]+, layer latency [\d.]+, fit/m);
  }, 300_000);
});
