import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { Builder } from './builder.js';
import type { FitPlan, Params } from './fit-contract.js';

/** Why a rule did not fire on a node: data a report can show, not a bare `false`. */
export interface NoMatch {
  noMatch: string;
}

export const noMatch = (reason: string): NoMatch => ({ noMatch: reason });

export const isNoMatch = (m: unknown): m is NoMatch => typeof m === 'object' && m !== null && 'noMatch' in m;

/** What every match binds: the nodes the rewrite replaces and the constants it reads. */
export interface MatchBase {
  /** The matched nodes; the driver removes them once their outputs are replaced. */
  nodes: Node[];
  /** Constants the rewrite reads (weights): the driver refuses when one is not constant or is used outside `nodes`. */
  constants: Value[];
}

/**
 * One option of a rule and the values it accepts: the driver checks every given value against it once, before any
 * match (src/rewrite/options.ts), so `match` can trust its options. Bounds apply to numbers.
 */
export interface OptionSpec {
  type: 'number' | 'string' | 'boolean';
  default: number | string | boolean;
  description: string;
  /** The only values accepted. */
  choices?: readonly (number | string)[];
  /** Whole numbers only. */
  integer?: boolean;
  /** Odd whole numbers only (e.g. a centred kernel size). */
  odd?: boolean;
  /** The smallest value accepted. */
  min?: number;
  /** A bound the value must be strictly above (a fraction in (0, 1]: `exclusiveMin: 0, max: 1`). */
  exclusiveMin?: number;
  /** The largest value accepted. */
  max?: number;
}

/** Per-layer statistics from calibration, when the caller has them (the profiler's pairing, redundancy). */
export interface LayerStats {
  /** Output channels grouped (prime first, then its ghosts), by original channel index. */
  groups?: number[][];
  /** Gram matrix of the output channels over calibration positions, row-major C×C. */
  gram?: Float64Array;
  /** Number of positions the Gram matrix sums over. */
  count?: number;
  /** Per original channel: the least-squares factor that makes it from its group's prime (1 for primes). */
  scales?: number[];
}

/**
 * A layer's output channels as one profiling pass measured them on the calibration data (src/profile), for any rule:
 * what a rule's `meta.stats` hook turns into the LayerStats its rewrite reads, for a given setting, without data.
 */
export interface LayerProfile {
  /** The node's key (its name, or its output's name when unnamed). */
  layer: string;
  channels: number;
  /** Positions (samples × spatial positions) the statistics sum over. */
  count: number;
  /** Whether `gram` is of the mean-centered maps (affine copies a·F + b) or of the maps as they are (scaled copies a·F). */
  centered: boolean;
  /** Σ over positions of F Fᵀ (centered: (F − μ)(F − μ)ᵀ), C×C row-major. */
  gram: Float64Array;
  /** Per channel: mean and max |F|. */
  mean: Float64Array;
  peak: Float64Array;
  /** R²_ij: the share of map i's energy the best copy of map j explains, C×C (docs/redundancy.md). */
  similarity: Float64Array;
  /** PSNR_ij in dB of map i made from map j, C×C (+∞ for exact copies). */
  psnr: Float64Array;
}

export interface RuleContext<O> {
  model: Model;
  graph: Graph;
  options: O;
  /** Statistics for the node being matched or rewritten, keyed by the caller by node name. */
  stats?: LayerStats;
}

/** The fit contract (Params, PatchLayer, PatchStats, FitSolveOptions, FitResult, FitPlan) is part of the rule API. */
export type { FitPlan, FitResult, FitSolveOptions, Params, PatchLayer, PatchStats } from './fit-contract.js';

/**
 * What a rewrite proposes: which new value replaces each output of the matched nodes, and how to fit its weights (one
 * plan per fitted layer: most rules have one, prune has one per consumer conv).
 */
export interface Proposal {
  replace: [old: Value, replacement: Value][];
  fit?: FitPlan | FitPlan[];
}

/**
 * A rewrite rule: a plain object. `match` binds a pattern at a node or says why not; `rewrite` proposes a replacement
 * built with the Builder; `init` sets the new weights (from the old weights and, when given, statistics). The driver
 * applies proposals; a rule never edits the graph itself.
 */
export interface Rule<M extends MatchBase = MatchBase, O extends object = Record<string, unknown>> {
  name: string;
  meta: {
    description: string;
    /** Op types the rule looks at; the driver tries no other nodes. */
    ops: string[];
    /** Lowest default-domain opset the emitted operators need (e.g. 10 for Slice with inputs). */
    minOpset?: number;
    /** The option that trades size for accuracy, with values from mildest to strongest: what a planner turns to
     * reach a target size (FTM: s; lowrank: budget; prune: ratio). */
    knob?: { option: string; values: number[] };
    /** Rules to run once this rule's rewrites are final (after fitting), e.g. folding the reorders FTM leaves. */
    finalize?: AnyRule[];
    /** What the rewrite reads from calibration data (FTM: the channel grouping for its S), from the layer's profile
     * and the resolved options: a pure function, so a planner can ask for each knob setting without profiling again. */
    stats?(profile: LayerProfile, options: O): LayerStats;
    options: { [K in keyof O]: OptionSpec };
  };
  match(node: Node, ctx: RuleContext<O>): M | NoMatch;
  rewrite(match: M, b: Builder, ctx: RuleContext<O>): Proposal;
  init?(match: M, params: Params, ctx: RuleContext<O>): void;
}

/** Lets a list hold rules with different match and option types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRule = Rule<any, any>;

/** Identity helper that type-checks a rule object (as `defineConfig` does in other tools). */
export function defineRule<M extends MatchBase, O extends object>(rule: Rule<M, O>): Rule<M, O> {
  return rule;
}
