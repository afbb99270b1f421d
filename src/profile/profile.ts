import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { resolveOptions } from '../rewrite/options.js';
import type { AnyRule } from '../rewrite/rule.js';
import { DEFAULT_THRESHOLD, layerReport } from './layer-report.js';
import { profileLayers, type ProfileLayersOptions } from './profile-layers.js';
import type { LayerReport, ProfileReport } from './report.js';

export interface ProfileOptions extends ProfileLayersOptions {
  /** Options of the rule the report is for (FTM: s, includeFirst); the rule's defaults for those not given. */
  ruleOptions?: Record<string, unknown>;
  /** PSNR in dB a best partner must reach to count in `share` (default 30). */
  threshold?: number;
}

/**
 * Measures how redundant each Conv layer's output channels are on the calibration data (docs/redundancy.md) in one
 * profiling pass, and reports, for `rule` at `ruleOptions`, which layers it takes (its own match) and how its
 * `meta.stats` hook groups their channels. The model is not modified.
 */
export async function profileModel(model: Model, calib: CalibrationSet, rule: AnyRule, options: ProfileOptions = {}): Promise<ProfileReport> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!Number.isFinite(threshold)) throw ftmError('E_USAGE', `expected a finite PSNR threshold in dB, found ${threshold}`);
  const ruleOptions = resolveOptions(rule, options.ruleOptions ?? {});
  const profile = await profileLayers(model, calib, options);
  const reports = profile.layers.map((l) => layerReport(model, l, rule, ruleOptions, threshold));
  const qualifying = reports.filter((r) => r.qualifies);
  const sum = (rs: LayerReport[]) => rs.reduce((n, r) => n + r.params, 0);
  return {
    format: 1,
    model: profile.model,
    input: profile.input,
    samples: profile.samples,
    settings: { rule: rule.name, ruleOptions, threshold, centered: profile.centered },
    layers: reports,
    totals: { layers: reports.length, qualifying: qualifying.length, params: sum(reports), qualifyingParams: sum(qualifying) },
  };
}
