import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countParams, loadModel } from '../src/index.js';
import { cli } from './helpers/cli.js';

const FIXTURE = 'fixtures/resnet20/model.onnx';

describe('the main job with the default rule (auto), the mixed plan on the fixture: FTM, low-rank or prune, per layer, at the setting the measured fit errors choose', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-mixed-'));
  // Closed form only and planned on parameters: what is under test is the plan and the rewrite it drives. No --rule:
  // on the fixture's 84 fitting samples the mixed plan's trials are estimated at under 3× FTM's fits.
  const r = cli([FIXTURE, '--calib', 'fixtures/resnet20/calib', '--preprocess', 'fixtures/resnet20/preprocess.json', '--calib-limit', '96', '--target-ratio', '0.3', '--no-distill', '--allow-slower', '-o', join(dir, 'm.onnx'), '--report', join(dir, 'm.json')]);
  const report = r.status === 0 ? JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) : undefined;
  const rewritten = (report?.layers ?? []).filter((l: { rewritten: boolean }) => l.rewritten);

  it('lands on the target, and the emitted model holds the parameters the report counts', () => {
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    expect(Math.abs(report.achievedRatio - 0.3)).toBeLessThanOrEqual(0.01);
    expect(report.rule).toBe('ftm+lowrank+prune');
    expect(countParams(loadModel(join(dir, 'm.onnx')).graph)).toBe(report.paramsAfter);
  });

  it('says that auto chose the mixed plan, and on what estimate', () => {
    expect(report.ruleChoice).toMatchObject({ chosen: 'mixed', above: 3, fallback: 'ftm' });
    expect(report.ruleChoice.trialShare).toBeGreaterThan(2);
    expect(report.ruleChoice.trialShare).toBeLessThanOrEqual(3);
    expect(r.stdout).toMatch(/^planned by the mixed plan \(the mixed plan's trial fits estimated at 2\.\d\d× the work of ftm's fits, within 3×\)$/m);
  });

  it('reports each rewritten layer with its own rule and setting, as the summary shows it', () => {
    expect(rewritten.length).toBeGreaterThan(3);
    for (const l of rewritten) {
      expect(['ftm', 'lowrank', 'prune']).toContain(l.rule);
      expect(Object.keys(l.ruleOptions)).toEqual([{ ftm: 's', lowrank: 'budget', prune: 'ratio' }[l.rule as string]]);
      const options = Object.entries(l.ruleOptions).map(([k, v]) => `${k}=${v}`).join(' ');
      expect(r.stdout).toContain(`rewritten (${l.rule} ${options})`);
    }
    expect(report.seconds['trial-fit']).toBeGreaterThan(0);
  });

  it('fits every rewritten layer better than its data-free start', () => {
    for (const l of rewritten) expect(l.errorAfter).toBeLessThan(l.errorBefore);
  });
});
