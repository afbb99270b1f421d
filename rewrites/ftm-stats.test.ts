import { describe, expect, it } from 'vitest';
import { dryRun, intakeModel, loadCalibration, loadModel, profileLayers, readPreprocessFile, ruleStats, type LayerProfile } from '../src/index.js';
import { EXACT_PAIRING_MAX_CHANNELS, exactPairs } from '../src/profile/pairing.js';
import { ftm } from './ftm.js';
import { ftmGroupSizes } from './ftm-layout.js';
import { ftmStats } from './ftm-stats.js';

const FIXTURE = 'fixtures/resnet20/';

describe('the FTM stats hook on the ResNet-20 fixture, from one profiling pass', async () => {
  const { model } = intakeModel(loadModel(`${FIXTURE}model.onnx`));
  const calib = await loadCalibration(`${FIXTURE}calib`, model, readPreprocessFile(`${FIXTURE}preprocess.json`));
  const profile = await profileLayers(model, calib, { threads: 1 });
  const convs = new Map(model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name!, n]));

  it.each([2, 3, 4])('S = %i: the module group sizes, every channel once, the prime the better reproducer, and the rule takes every grouping', (s) => {
    const stats = ruleStats(ftm, profile.layers, { s });
    expect(Object.keys(stats)).toEqual(profile.layers.map((l) => l.layer));
    for (const layer of profile.layers) {
      const { groups, scales } = stats[layer.layer];
      const c = layer.channels;
      const bySize = (sizes: number[]) => [...sizes].sort((a, b) => a - b);
      expect(bySize(groups!.map((g) => g.length))).toEqual(bySize(ftmGroupSizes(c, s)));
      expect(groups!.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: c }, (_, i) => i));
      for (const [prime, ...ghosts] of groups!) {
        expect(scales![prime]).toBe(1);
        for (const g of ghosts) {
          expect(scales![g]).toBeCloseTo(layer.gram[g * c + prime] / layer.gram[prime * c + prime], 12);
          if (s === 2) expect(layer.psnr[g * c + prime]).toBeGreaterThanOrEqual(layer.psnr[prime * c + g]);
        }
      }
      if (s === 2 && c <= EXACT_PAIRING_MAX_CHANNELS) {
        // the pairs are a maximum-weight matching of the similarities
        const mate = exactPairs(layer.similarity, c);
        const total = (pairs: number[][]) => pairs.reduce((sum, [p, g]) => sum + (g === undefined ? 0 : layer.similarity[p * c + g]), 0);
        const matched = Array.from(mate).flatMap((j, i) => (j > i ? [[i, j]] : []));
        expect(total(groups!)).toBeCloseTo(total(matched), 9);
      }
      const conv = convs.get(layer.layer)!;
      expect(dryRun(model, ftm, conv, { s, includeFirst: true }, stats[layer.layer])).toMatchObject({ fires: true });
    }
  });

  it('groups planted copies together, from statistics alone', () => {
    // six maps over three directions: 3 is 1 scaled by 2, 4 is 0 scaled by −1, 5 is 2 as it is
    const c = 6;
    const basis = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 0], [-1, 0, 0], [0, 0, 1]];
    const gram = Float64Array.from({ length: c * c }, (_, e) => basis[Math.floor(e / c)].reduce((sum, x, k) => sum + x * basis[e % c][k], 0));
    const similarity = Float64Array.from(gram, (g, e) => (g * g) / (gram[Math.floor(e / c) * (c + 1)] * gram[(e % c) * (c + 1)]));
    const psnr = Float64Array.from(similarity, (r2) => (r2 >= 1 - 1e-12 ? Infinity : -10 * Math.log10(1 - r2)));
    const profile: LayerProfile = { layer: 'x', channels: c, count: 100, centered: false, gram, mean: new Float64Array(c), peak: new Float64Array(c).fill(1), similarity, psnr };
    const { groups, scales } = ftmStats(profile, { s: 2 });
    // exact copies either way: the lower index is the prime
    expect(groups).toEqual([[0, 4], [1, 3], [2, 5]]);
    expect(scales).toEqual([1, 1, 1, 2, -1, 1]);
    expect(ftmStats(profile, { s: 3 }).groups!.map((g) => g.length)).toEqual([3, 3]);
  });
});
