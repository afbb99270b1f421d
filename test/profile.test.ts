import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectCodeAsync } from './helpers/errors.js';
import { describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { loadCalibration, readPreprocessFile } from '../src/calib/index.js';
import type { CalibrationSet } from '../src/calib/types.js';
import { applyRules, encodeModel, inspectModel, loadModel, statsFromProfile, Tensor, type Model } from '../src/index.js';
import { profileCommand } from '../src/commands/profile.js';
import { maxWeightMatching, type WeightedEdge } from '../src/profile/matching.js';
import { ftm } from '../rewrites/ftm.js';
import { EXACT_PAIRING_MAX_CHANNELS, exactPairs, groupChannels, nearOptimalPairs } from '../src/profile/pairing.js';
import { profileModel, type ProfileOptions } from '../src/profile/profile.js';
import type { LayerReport } from '../src/profile/report.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';
import { channel, copyPsnr } from './helpers/psnr-reference.js';
import { conv2d, nchw } from './helpers/reference.js';
import { memoryCalibration } from './helpers/memory-calib.js';


const byLayer = (layers: LayerReport[]) => Object.fromEntries(layers.map((l) => [l.layer, l]));

/** x [N,2,6,6] → conv1 2→4 (pad 1) → Relu → conv2 4→3 (pad 1), random weights and biases. */
function smallNet(opset: number, batch: number | string = 'N') {
  const { model, g, x } = modelWithInput([batch, 2, 6, 6], opset);
  const w1 = randomWeight(g, 'w1', [4, 2, 3, 3], 1);
  const b1 = randomWeight(g, 'b1', [4], 2);
  const w2 = randomWeight(g, 'w2', [3, 4, 3, 3], 3);
  const b2 = randomWeight(g, 'b2', [3], 4);
  const conv1 = g.addNode({ op: 'Conv', inputs: [x, w1, b1], name: 'conv1', attrs: { pads: [1, 1, 1, 1] } });
  const relu = g.addNode({ op: 'Relu', inputs: [conv1.outputs[0]], name: 'relu' });
  const conv2 = g.addNode({ op: 'Conv', inputs: [relu.outputs[0], w2, b2], name: 'conv2', attrs: { pads: [1, 1, 1, 1] } });
  g.outputs.push(conv2.outputs[0]!);
  const floats = (v: typeof w1) => v.initializer!.data as Float32Array;
  return { model, w1: floats(w1), b1: floats(b1), w2: floats(w2), b2: floats(b2) };
}

const SAMPLES = 10;
const inputs = randomFloats(SAMPLES * 2 * 6 * 6, 99).map((v) => v + 0.2);
const smallCalib = () => memoryCalibration('x', [2, 6, 6], inputs);

describe('PSNR against a direct computation', () => {
  const net = smallNet(13);
  const pad = { pads: [1, 1, 1, 1] };
  const f1 = conv2d(nchw(inputs, SAMPLES, 2, 6, 6), net.w1, net.b1, 4, [3, 3], pad);
  const f2 = conv2d({ ...f1, data: f1.data.map((v) => Math.max(0, v)) }, net.w2, net.b2, 3, [3, 3], pad);
  const reference = { conv1: f1, conv2: f2 };

  // onnxruntime's float32 convs and GEMMs against float64 loops: errors of ~1e-6 relative, far below these tolerances.
  const DB = 0.01;
  for (const opset of [10, 13, 18]) {
    for (const centered of [true, false]) {
      it(`matches per channel pair (opset ${opset}, ${centered ? 'centered' : 'plain scaled copies'}, batches of 3)`, async () => {
        const report = await profileModel(smallNet(opset).model, smallCalib(), ftm, { centered, batchSize: 3, threads: 1 });
        for (const layer of report.layers) {
          const f = reference[layer.layer as keyof typeof reference];
          const c = f.c;
          expect(layer.outputShape).toEqual([c, 6, 6]);
          for (let i = 0; i < c; i++) {
            const fi = channel(f, i);
            expect(layer.peak[i]).toBeCloseTo(Math.max(...fi.map(Math.abs)), 5);
            expect(layer.mean[i]).toBeCloseTo(fi.reduce((a, b) => a + b, 0) / fi.length, 5);
            expect(layer.psnr[i][i]).toBeNull();
            const expected = Array.from({ length: c }, (_, j) => (j === i ? -Infinity : copyPsnr(fi, channel(f, j), centered).psnr));
            for (let j = 0; j < c; j++) if (j !== i) expect(Math.abs(layer.psnr[i][j]! - expected[j])).toBeLessThan(DB);
            expect(Math.abs(layer.bestPsnr[i]! - Math.max(...expected))).toBeLessThan(DB);
            expect(expected[layer.bestPartner[i]]).toBeCloseTo(Math.max(...expected), 1);
          }
          for (const { prime, ghosts } of layer.groups) {
            for (const g of ghosts) {
              const copy = copyPsnr(channel(f, g.channel), channel(f, prime), centered);
              expect(g.scale).toBeCloseTo(copy.scale, 4);
              expect(g.offset).toBeCloseTo(centered ? copy.offset : 0, 4);
              expect(Math.abs(g.psnr! - copy.psnr)).toBeLessThan(DB);
            }
          }
          const best = layer.bestPsnr.map((p) => Math.min(p!, 100));
          expect(layer.score).toBeCloseTo(best.reduce((a, b) => a + b, 0) / c, 2);
        }
      });
    }
  }

  it('gives the same statistics whatever the batch size (batches are merged exactly)', async () => {
    const one = await profileModel(net.model, smallCalib(), ftm, { batchSize: 1, threads: 1 });
    const all = await profileModel(net.model, smallCalib(), ftm, { batchSize: SAMPLES, threads: 1 });
    one.layers.forEach((l, k) => {
      const flat = (r: LayerReport) => r.psnr.flat().map((p) => p ?? 0);
      const diff = flat(l).map((p, i) => Math.abs(p - flat(all.layers[k])[i]));
      expect(Math.max(...diff)).toBeLessThan(0.005);
    });
  });

  it('runs a model exported with a fixed batch of 1 on larger batches', async () => {
    const fixed = await profileModel(smallNet(13, 1).model, smallCalib(), ftm, { batchSize: 4, threads: 1 });
    const dynamic = await profileModel(net.model, smallCalib(), ftm, { batchSize: 4, threads: 1 });
    expect(fixed.layers.map((l) => l.psnr)).toEqual(dynamic.layers.map((l) => l.psnr));
  });

  it('leaves the model unchanged, reports progress, and writes JSON that reads back equal', async () => {
    const before = encodeModel(net.model);
    const seen: number[] = [];
    const report = await profileModel(net.model, smallCalib(), ftm, { batchSize: 4, onProgress: (p) => seen.push(p.samples) });
    expect(Buffer.from(encodeModel(net.model)).equals(Buffer.from(before))).toBe(true);
    expect(seen).toEqual([4, 8, 10]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(report.totals).toEqual({ layers: 2, qualifying: 1, params: 4 * 2 * 9 + 4 + 3 * 4 * 9 + 3, qualifyingParams: 3 * 4 * 9 + 3 });
  });
});

/**
 * x [N,3,8,8] → stem 3→4 → Relu → `dup` 4→6 whose channels 3, 5 and 4 are copies of 1, 0 and 2: identical, ×2.5 and
 * ×(−0.37), weights and biases alike, so the maps are exact scaled copies.
 */
function duplicatedChannels(): Model {
  const { model, g, x } = modelWithInput(['N', 3, 8, 8]);
  const stem = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'ws', [4, 3, 3, 3], 5)], name: 'stem', attrs: { pads: [1, 1, 1, 1] } });
  const relu = g.addNode({ op: 'Relu', inputs: [stem.outputs[0]], name: 'relu' });
  const w = randomFloats(6 * 36, 6);
  const b = randomFloats(6, 7);
  const copies: [number, number, number][] = [[3, 1, 1], [5, 0, 2.5], [4, 2, -0.37]];
  for (const [to, from, k] of copies) {
    for (let e = 0; e < 36; e++) w[to * 36 + e] = k * w[from * 36 + e];
    b[to] = k * b[from];
  }
  const dup = g.addNode({
    op: 'Conv',
    inputs: [relu.outputs[0], g.addInitializer('wd', Tensor.float32([6, 4, 3, 3], w)), g.addInitializer('bd', Tensor.float32([6], b))],
    name: 'dup',
    attrs: { pads: [1, 1, 1, 1] },
  });
  g.outputs.push(dup.outputs[0]!);
  return model;
}

describe('duplicated output channels', () => {
  const calib = () => memoryCalibration('x', [3, 8, 8], randomFloats(16 * 3 * 64, 8));

  for (const centered of [true, false]) {
    it(`get infinite PSNR and are paired together, the prime first (${centered ? 'centered' : 'plain'})`, async () => {
      const report = await profileModel(duplicatedChannels(), calib(), ftm, { centered, layers: ['dup'] });
      const dup = report.layers[0];
      for (const [a, b] of [[1, 3], [0, 5], [2, 4]]) {
        expect(dup.psnr[a][b]).toBeNull();
        expect(dup.psnr[b][a]).toBeNull();
        expect(dup.bestPartner[a]).toBe(b);
        expect(dup.bestPartner[b]).toBe(a);
      }
      expect(dup.psnr[0][1]).toBeLessThan(40);
      expect(dup.groups.map((g) => [g.prime, g.ghosts.map((h) => h.channel)])).toEqual([[0, [5]], [1, [3]], [2, [4]]]);
      const scales = dup.groups.map((g) => g.ghosts[0].scale);
      [2.5, 1, -0.37].forEach((s, i) => expect(scales[i]).toBeCloseTo(s, 5));
      dup.groups.forEach((g) => expect(g.ghosts[0].offset).toBeCloseTo(0, 4));
      expect(dup.share).toBe(1);
      expect(dup.score).toBe(100);
    });
  }

  it('groups of S = 3 cover every channel once', async () => {
    const report = await profileModel(duplicatedChannels(), calib(), ftm, { ruleOptions: { s: 3 }, layers: ['dup'] });
    const groups = report.layers[0].groups;
    expect(groups.length).toBe(2);
    expect(groups.flatMap((g) => [g.prime, ...g.ghosts.map((h) => h.channel)]).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('pairing', () => {
  /** Pairs, and one lone channel when C is odd. */
  const pairSizes = (c: number) => [...Array<number>(c >> 1).fill(2), ...(c % 2 ? [1] : [])];

  /** Deterministic random symmetric similarities in [0, 1] and asymmetric PSNRs. */
  function randomLayer(c: number, seed: number) {
    const r = randomFloats(2 * c * c, seed);
    const sim = new Float64Array(c * c);
    const psnr = new Float64Array(c * c);
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        sim[i * c + j] = i === j ? 1 : Math.abs(r[Math.min(i, j) * c + Math.max(i, j)]);
        psnr[i * c + j] = 20 + 10 * r[c * c + i * c + j];
      }
    }
    return { sim, psnr };
  }

  /** The best total similarity over matchings of the most pairs, by trying them all. */
  function bruteForce(sim: Float64Array, c: number): number {
    const rec = (left: number[]): number => {
      if (left.length < 2) return 0;
      const [i, ...rest] = left;
      const options = rest.map((j) => sim[i * c + j] + rec(rest.filter((k) => k !== j)));
      // With an odd count, leaving i alone is one more option.
      if (left.length % 2 === 1) options.push(rec(rest));
      return Math.max(...options);
    };
    return rec(Array.from({ length: c }, (_, i) => i));
  }

  it('S = 2 is an optimal matching, each pair directed from the better reproducer', () => {
    for (let c = 2; c <= 9; c++) {
      for (let seed = 0; seed < 8; seed++) {
        const { sim, psnr } = randomLayer(c, 100 * c + seed);
        const groups = groupChannels(sim, psnr, pairSizes(c));
        expect(groups.filter((g) => g.ghosts.length === 0).length).toBe(c % 2);
        expect(groups.flatMap((g) => [g.prime, ...g.ghosts]).sort((a, b) => a - b)).toEqual(Array.from({ length: c }, (_, i) => i));
        const total = groups.reduce((sum, g) => sum + (g.ghosts.length ? sim[g.prime * c + g.ghosts[0]] : 0), 0);
        expect(Math.abs(total - bruteForce(sim, c))).toBeLessThan(c * 2 ** -20);
        for (const g of groups) for (const h of g.ghosts) expect(psnr[h * c + g.prime]).toBeGreaterThanOrEqual(psnr[g.prime * c + h]);
      }
    }
  });

  it('above EXACT_PAIRING_MAX_CHANNELS, S = 2 pairs near-optimally: every channel paired once, within a few percent of the exact matching', () => {
    const c = 301; // odd: one channel stays alone
    // similarities as of real maps: R² of the Gram matrix of random low-rank features, with near-copies
    const r = 12;
    const f = randomFloats(c * r, 7);
    for (let i = 0; i < 40; i++) for (let k = 0; k < r; k++) f[(i + 40) * r + k] = f[i * r + k] + 0.05 * f[(i + 200) * r + k];
    const g = (i: number, j: number) => f.subarray(i * r, (i + 1) * r).reduce((s, v, k) => s + v * f[j * r + k], 0);
    const sim = Float64Array.from({ length: c * c }, (_, e) => {
      const [i, j] = [Math.floor(e / c), e % c];
      return i === j ? 1 : g(i, j) ** 2 / (g(i, i) * g(j, j));
    });
    const total = (mate: Int32Array) => mate.reduce((s, j, i) => s + (j > i ? sim[i * c + j] : 0), 0);
    const near = nearOptimalPairs(sim, c);
    expect(near.filter((j) => j === -1)).toHaveLength(1);
    near.forEach((j, i) => j >= 0 && expect(near[j]).toBe(i));
    const [exact, approximate] = [total(exactPairs(sim, c)), total(near)];
    console.log(`C=${c}: exact matching ${exact.toFixed(4)}, near-optimal ${approximate.toFixed(4)}, gap ${((100 * (exact - approximate)) / exact).toFixed(2)}%`);
    expect(approximate).toBeLessThanOrEqual(exact + 1e-9);
    expect(approximate).toBeGreaterThan(0.95 * exact);
    expect(EXACT_PAIRING_MAX_CHANNELS).toBeLessThan(1000);
  });

  it('greedy S > 2 recovers planted groups', () => {
    const c = 9;
    const cluster = (i: number) => [4, 0, 8, 1, 5, 2, 6, 3, 7].indexOf(i) % 3;
    const sim = Float64Array.from({ length: c * c }, (_, k) => (cluster(Math.floor(k / c)) === cluster(k % c) ? 0.9 : 0.1));
    const groups = groupChannels(sim, new Float64Array(c * c), [3, 3, 3]);
    expect(groups.map((g) => [g.prime, ...g.ghosts].map(cluster))).toEqual(groups.map((g) => Array(3).fill(cluster(g.prime))));
  });

  it('greedy S > 2 takes the same groups as evaluating every prime at every step', () => {
    // the definition, evaluated in full: the prime whose size − 1 most similar remaining channels sum highest (ties: lowest index)
    const reference = (sim: Float64Array, c: number, sizes: number[]) => {
      const left = Array.from({ length: c }, (_, i) => i);
      return sizes.map((size) => {
        const ranked = (p: number) => left.filter((q) => q !== p).sort((a, b) => sim[b * c + p] - sim[a * c + p] || a - b).slice(0, size - 1);
        const total = (p: number) => ranked(p).reduce((s, g) => s + sim[g * c + p], 0);
        const prime = left.reduce((best, p) => (total(p) > total(best) ? p : best));
        const ghosts = ranked(prime);
        for (const ch of [prime, ...ghosts]) left.splice(left.indexOf(ch), 1);
        return { prime, ghosts: ghosts.sort((a, b) => a - b) };
      });
    };
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (const [c, s, levels] of [[30, 3, 0], [41, 4, 0], [48, 6, 5], [25, 3, 3]]) {
      // levels > 0 rounds similarities to few values, so that totals tie
      const sim = Float64Array.from({ length: c * c }, () => (levels ? Math.round(random() * levels) / levels : random()));
      const sizes = Array.from({ length: Math.ceil(c / s) }, (_, j) => Math.min(s, Math.ceil((c - j) / Math.ceil(c / s))));
      const expected = reference(sim, c, sizes).sort((a, b) => a.prime - b.prime);
      expect(groupChannels(sim, new Float64Array(c * c), sizes), `C=${c}, S=${s}`).toEqual(expected);
    }
  });

  it('groups have the sizes asked for, every channel in one group', () => {
    for (const sizes of [[3, 3, 2, 2], [4, 1], [2, 2, 2, 1, 1], [5]]) {
      const c = sizes.reduce((a, b) => a + b, 0);
      const sim = Float64Array.from({ length: c * c }, (_, k) => ((k * 7919) % 101) / 101);
      const groups = groupChannels(sim, new Float64Array(c * c), sizes);
      expect(groups.map((g) => 1 + g.ghosts.length).sort(), `sizes ${sizes}`).toEqual([...sizes].sort());
      expect(groups.flatMap((g) => [g.prime, ...g.ghosts]).sort((a, b) => a - b)).toEqual(Array.from({ length: c }, (_, i) => i));
    }
    expect(() => groupChannels(new Float64Array(9), new Float64Array(9), [2, 2])).toThrow(/group sizes/);
  });

  it('the blossom matching is optimal on random general graphs', () => {
    const weightOf = (edges: WeightedEdge[], mate: Int32Array) => edges.reduce((s, [i, j, w]) => s + (mate[i] === j ? w : 0), 0);
    const brute = (edges: WeightedEdge[], maxCard: boolean): [number, number] => {
      let best: [number, number] = [-1, -Infinity];
      const used = new Set<number>();
      const rec = (k: number, card: number, weight: number) => {
        if (k === edges.length) {
          if (maxCard ? card > best[0] || (card === best[0] && weight > best[1]) : weight > best[1]) best = [card, weight];
          return;
        }
        rec(k + 1, card, weight);
        const [i, j, w] = edges[k];
        if (used.has(i) || used.has(j)) return;
        used.add(i).add(j);
        rec(k + 1, card + 1, weight + w);
        used.delete(i);
        used.delete(j);
      };
      rec(0, 0, 0);
      return best;
    };
    for (let t = 0; t < 300; t++) {
      const n = 2 + (t % 7);
      const r = randomFloats(n * n * 2, t + 1);
      const edges: WeightedEdge[] = [];
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (r[i * n + j] > -0.3) edges.push([i, j, Math.round(r[n * n + i * n + j] * 20) + (t % 2 ? 5 : 0)]);
      for (const maxCard of [false, true]) {
        const mate = maxWeightMatching(n, edges, maxCard);
        mate.forEach((j, i) => j >= 0 && expect(mate[j]).toBe(i));
        const [card, weight] = brute(edges, maxCard);
        expect(weightOf(edges, mate)).toBe(weight);
        if (maxCard) expect(Array.from(mate).filter((j) => j >= 0).length / 2).toBe(card);
      }
    }
  });
});

describe('qualification', () => {
  /** A chain with one Conv of each kind that FTM must decline, and two that it takes. */
  function kinds(): Model {
    const { model, g, x } = modelWithInput(['N', 4, 6, 6]);
    let h = x;
    let seed = 10;
    const conv = (name: string | undefined, w: typeof x, group = 1) => {
      h = g.addNode({ op: 'Conv', inputs: [h, w], name, attrs: { pads: [1, 1, 1, 1], group } }).outputs[0]!;
      return h;
    };
    const weight = (dims: number[]) => randomWeight(g, 'w', dims, seed++);
    conv('stem', weight([8, 4, 3, 3]));
    conv('plain', weight([8, 8, 3, 3]));
    conv('grouped', weight([8, 4, 3, 3]), 2);
    conv('depthwise', weight([8, 1, 3, 3]), 8);
    conv('computed', g.addNode({ op: 'Identity', inputs: [weight([8, 8, 3, 3])], name: 'id' }).outputs[0]!);
    const shared = weight([8, 8, 3, 3]);
    conv('shared_a', shared);
    conv('shared_b', shared);
    conv(undefined, weight([8, 8, 3, 3]));
    conv('single', weight([1, 8, 3, 3]));
    g.outputs.push(h);
    return model;
  }
  const calib = () => memoryCalibration('x', [4, 6, 6], randomFloats(4 * 4 * 36, 3));

  it("says why each declined Conv is declined: the rule's own match and the driver's refusals", async () => {
    const model = kinds();
    const report = await profileModel(model, calib(), ftm);
    const reasons = Object.fromEntries(report.layers.map((l) => [l.layer, l.reason]));
    expect(reasons).toEqual({
      stem: 'first convolution (reads a graph input); set includeFirst to rewrite it',
      plain: null,
      grouped: 'grouped convolution (group=2)',
      depthwise: 'depthwise convolution',
      computed: 'the weight is not a constant initializer',
      shared_a: expect.stringMatching(/^"w_\d+" is shared with Conv "shared_b", outside the match$/),
      shared_b: expect.stringMatching(/^"w_\d+" is shared with Conv "shared_a", outside the match$/),
      Conv_out0: null,
      single: '1 output channel(s) cannot share prime maps at S=2',
    });
    // the same verdicts as rewriting the model with the profile's statistics
    const records = applyRules(model, [ftm], { stats: statsFromProfile(report) }).records;
    expect(Object.fromEntries(records.map((r) => [r.node, r.status === 'fired' ? null : r.reason]))).toEqual(reasons);
    const single = byLayer(report.layers).single;
    expect([single.bestPartner, single.bestPsnr, single.groups]).toEqual([[-1], [0], [{ prime: 0, ghosts: [] }]]);
  });

  it('lets the first conv qualify with includeFirst, and profiles only the layers asked for', async () => {
    const report = await profileModel(kinds(), calib(), ftm, { ruleOptions: { includeFirst: true }, layers: ['depthwise', 'stem'] });
    expect(report.layers.map((l) => [l.layer, l.qualifies])).toEqual([['stem', true], ['depthwise', false]]);
  });

  it('pairs a stem behind a normalization Sub/Div, which the rule rewrites (it reads no graph input)', async () => {
    const { model, g, x } = modelWithInput(['N', 3, 8, 8]);
    const sub = g.addNode({ op: 'Sub', inputs: [x, g.addInitializer('mean', Tensor.float32([1, 3, 1, 1], [0.5, 0.4, 0.3]))], name: 'sub' });
    const div = g.addNode({ op: 'Div', inputs: [sub.outputs[0], g.addInitializer('std', Tensor.float32([1, 3, 1, 1], [0.2, 0.25, 0.3]))], name: 'div' });
    const stem = g.addNode({ op: 'Conv', inputs: [div.outputs[0], randomWeight(g, 'ws', [6, 3, 3, 3], 21)], name: 'stem', attrs: { pads: [1, 1, 1, 1] } });
    g.outputs.push(stem.outputs[0]!);
    const report = await profileModel(model, memoryCalibration('x', [3, 8, 8], randomFloats(8 * 3 * 64, 22)), ftm);
    const layer = report.layers[0];
    expect([layer.layer, layer.qualifies, layer.reason]).toEqual(['stem', true, null]);
    expect(layer.groups.flatMap((gr) => [gr.prime, ...gr.ghosts.map((h) => h.channel)]).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const rewritten = applyRules(model, [ftm], { stats: statsFromProfile(report) });
    expect(rewritten.records.map((r) => [r.node, r.status])).toEqual([['stem', 'fired']]);
  });

  it('declines a 3-D convolution but still profiles it', async () => {
    const { model, g, x } = modelWithInput(['N', 2, 4, 4, 4]);
    g.outputs.push(g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [3, 2, 3, 3, 3], 1)], name: 'c3d', attrs: { pads: [1, 1, 1, 1, 1, 1] } }).outputs[0]!);
    const report = await profileModel(model, memoryCalibration('x', [2, 4, 4, 4], randomFloats(3 * 128, 2)), ftm, { ruleOptions: { includeFirst: true } });
    const layer = report.layers[0];
    expect(layer.reason).toBe('expected a 2-D convolution (4-D weight), found a 5-D weight');
    expect(layer.outputShape).toEqual([3, 4, 4, 4]);
    expect(layer.psnr.flat().filter((p) => p !== null).every((p) => p! > 0 && p! < 60)).toBe(true);
  });
});

describe('bad inputs', () => {
  const run = (model: Model, calib: CalibrationSet, options: ProfileOptions = {}) => () => profileModel(model, calib, ftm, options);

  it('a model without Conv', async () => {
    const { model, g, x } = modelWithInput(['N', 2, 6, 6]);
    g.outputs.push(g.addNode({ op: 'Relu', inputs: [x], name: 'relu' }).outputs[0]!);
    await expectCodeAsync(run(model, smallCalib()), 'E_UNSUPPORTED');
  });

  it('layers naming a missing layer, or none', async () => {
    const e = await expectCodeAsync(run(smallNet(13).model, smallCalib(), { layers: ['conv1', 'nope'] }), 'E_USAGE');
    expect(e.message).toContain('no Conv layer named "nope"; the model\'s Conv layers are "conv1", "conv2"');
    await expectCodeAsync(run(smallNet(13).model, smallCalib(), { layers: [] }), 'E_USAGE');
  });

  it('calibration data that does not fit the model', async () => {
    const { model } = smallNet(13);
    await expectCodeAsync(run(model, memoryCalibration('x', [2, 6, 6], new Float32Array(0))), 'E_CALIB_EMPTY');
    await expectCodeAsync(run(model, memoryCalibration('image', [2, 6, 6], inputs)), 'E_CALIB_SHAPE');
    await expectCodeAsync(run(model, memoryCalibration('x', [2, 4, 9], inputs)), 'E_CALIB_SHAPE');
    model.graph.inputs.push(model.graph.define('extra'));
    await expectCodeAsync(run(model, smallCalib()), 'E_UNSUPPORTED');
  });

  it.each([
    ['S = 1', { ruleOptions: { s: 1 } }],
    ['S = 2.5', { ruleOptions: { s: 2.5 } }],
    ['batch size 0', { batchSize: 0 }],
    ['a NaN threshold', { threshold: NaN }],
    ['0 threads', { threads: 0 }],
  ])('options: %s', async (_, options) => {
    await expectCodeAsync(run(smallNet(13).model, smallCalib(), options), 'E_USAGE');
  });
});

const FIXTURE = new URL('../fixtures/resnet20/', import.meta.url).pathname;

describe.skipIf(!existsSync(`${FIXTURE}model.onnx`))('ResNet-20 fixture', () => {
  it('profiles all 21 convs on the 256 calibration images', async () => {
    const model = loadModel(`${FIXTURE}model.onnx`);
    const calib = await loadCalibration(`${FIXTURE}calib`, model, readPreprocessFile(`${FIXTURE}preprocess.json`));
    const report = await profileModel(model, calib, ftm);
    expect(report.samples).toBe(256);
    expect(report.layers.length).toBe(21);
    expect(report.layers.filter((l) => !l.qualifies).map((l) => [l.layer, l.reason])).toEqual([['/conv1/Conv', 'first convolution (reads a graph input); set includeFirst to rewrite it']]);
    for (const l of report.layers) {
      const c = l.outputShape[0];
      expect(l.psnr.length).toBe(c);
      expect(l.groups.length).toBe(c / 2);
      expect(l.score).toBeGreaterThan(5);
      expect(l.score).toBeLessThan(40);
    }
    expect(report.totals.params).toBe(inspectModel(model).totals.convParams);
  });
});

/** Runs `ftm-compress profile ...` in-process, capturing what it writes. */
async function profileCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      out[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    await yargs(['profile', ...args]).command(profileCommand).strict().fail(false).parseAsync();
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return out;
}

describe.skipIf(!existsSync(`${FIXTURE}model.onnx`))('ftm-compress profile', () => {
  const base = [`${FIXTURE}model.onnx`, '--calib', `${FIXTURE}calib`];

  it('prints the table, logs progress on stderr, and writes the JSON report atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftm-profile-'));
    const json = join(dir, 'report.json');
    const { stdout, stderr } = await profileCli([...base, '--preprocess', `${FIXTURE}preprocess.json`, '--json', json]);
    expect(stdout).toMatch(/^layer +weight +output +params +score dB +≥30 dB +ftm\n/);
    expect(stdout).toContain('/conv1/Conv');
    expect(stdout).toContain('no: first convolution (reads a graph input); set includeFirst to rewrite it');
    expect(stdout).toContain('20 of 21 Conv layers qualify for ftm');
    expect(stdout).toContain('Grouping for ftm (s=2, knf=1, form=gathered, includeFirst=false): see --json.');
    expect(stderr).toContain('profile: 256/256 samples (100%)');
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect([report.format, report.samples, report.layers.length]).toEqual([1, 256, 21]);
    expect(readdirSync(dir)).toEqual(['report.json']);
  });

  it('takes preprocessing as flags as well as from a file, and a sample of the set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftm-profile-'));
    const sample = ['--calib-limit', '32', '--seed', '1', '--layers', '/layer3/layer3.2/conv2/Conv', '--threads', '1'];
    await profileCli([...base, ...sample, '--preprocess', `${FIXTURE}preprocess.json`, '--json', join(dir, 'a.json')]);
    await profileCli([...base, ...sample, '--scale', String(1 / 255), '--mean', '0.286', '--std', '0.353', '--json', join(dir, 'b.json')]);
    const [a, b] = ['a.json', 'b.json'].map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
    expect(a.samples).toBe(32);
    expect(b).toEqual(a);
  });

  it('fails with typed errors', async () => {
    await expect(profileCli([...base, '--layers', 'nope'])).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(profileCli([...base, '--mean', '0.2,abc'])).rejects.toMatchObject({ code: 'E_PREPROCESS' });
    // the rule's options are checked before the model is read
    await expect(profileCli(['missing.onnx', '--calib', `${FIXTURE}calib`, '--s', '1'])).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('option "s"') });
  });
});
