/**
 * What `profile` reports, as plain JSON-ready data: `JSON.parse(JSON.stringify(report))` gives the same object back,
 * which is what later stages read from the `--json` file. docs/redundancy.md documents every field.
 */

/** A PSNR in dB, rounded to 0.001 dB; null stands for +∞ (an exact copy), since JSON has no Infinity. */
export type Decibels = number | null;

export interface GhostReport {
  channel: number;
  /** PSNR of this ghost made from its prime, as `scale · prime + offset`. */
  psnr: Decibels;
  /** The least-squares copy factors: the FTM rewrite's initial per-channel affine (offset 0 when not centered). */
  scale: number;
  offset: number;
}

export interface GroupReport {
  prime: number;
  ghosts: GhostReport[];
}

export interface LayerReport {
  /** The Conv node's name, or its output's name when unnamed: what `layers` options take. */
  layer: string;
  node: string | null;
  output: string;
  /** [C_out, C_in/group, kh, kw] when the weight is a constant, else null. */
  weightShape: number[] | null;
  /** The Conv output for one sample, as observed on the calibration data: [C, H, W]. */
  outputShape: number[];
  /** Weight and bias elements. */
  params: number;
  /** Whether the rule takes the layer (its match, by the driver's dry run); why not, or null when it does. */
  qualifies: boolean;
  reason: string | null;
  /** Mean over channels of the best-partner PSNR, each clipped at 100 dB. */
  score: number;
  /** Share of channels whose best partner reaches the threshold. */
  share: number;
  /** For each channel, the channel that reproduces it best (-1 for a one-channel layer), and that PSNR. */
  bestPartner: number[];
  bestPsnr: Decibels[];
  /** The (prime, ghosts) grouping the rule's `meta.stats` hook gives at these options (FTM: for its S); empty for a
   * rule without one. */
  groups: GroupReport[];
  /** Per channel: max |F| and mean over the calibration positions. */
  peak: number[];
  mean: number[];
  /** psnr[i][j]: PSNR of channel i reproduced from channel j (C×C; the diagonal is null, +∞). */
  psnr: Decibels[][];
}

export interface ProfileReport {
  /** Version of this format; it changes only when a field's meaning changes. */
  format: 1;
  model: string | null;
  input: string;
  samples: number;
  settings: {
    /** The rule the qualification and grouping are for, and its options (defaults filled in). */
    rule: string;
    ruleOptions: Record<string, unknown>;
    threshold: number;
    /** Whether maps were mean-centered (affine copies a·F + b) rather than plain scaled copies a·F. */
    centered: boolean;
  };
  layers: LayerReport[];
  totals: { layers: number; qualifying: number; params: number; qualifyingParams: number };
}

/** dB for the report: +∞ as null, the rest rounded to 0.001 dB (finer than float32 statistics resolve). */
export function decibels(x: number): Decibels {
  return x === Infinity ? null : Math.round(x * 1000) / 1000;
}

/** The rule setting a report is for, as people read it: `ftm (s=2, knf=1, ...)`. */
export function describeSetting(settings: ProfileReport['settings']): string {
  const options = Object.entries(settings.ruleOptions).map(([k, v]) => `${k}=${v}`);
  return options.length ? `${settings.rule} (${options.join(', ')})` : settings.rule;
}
