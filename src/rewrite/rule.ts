import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { Builder } from './builder.js';
import type { PatchLayer, PatchStats } from '../fit/patch-stats.js';

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

export interface OptionSpec {
  type: 'number' | 'string' | 'boolean';
  default: number | string | boolean;
  description: string;
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

export interface RuleContext<O> {
  model: Model;
  graph: Graph;
  options: O;
  /** Statistics for the node being matched or rewritten, keyed by the caller by node name. */
  stats?: LayerStats;
}

/** The new weights of a proposal, by role (`pw.weight`, `affine.scale`, ...): what `init` and fitting fill in. */
export type Params = Map<string, Tensor>;

/** Sufficient statistics of a layer's input patches and targets, and the layer they are collected for (src/fit/patch-stats.ts). */
export type { PatchLayer, PatchStats } from '../fit/patch-stats.js';

/** Knobs the fitting driver passes to every solve (a rule uses those that apply to its maths). */
export interface FitSolveOptions {
  /** Rounds of an alternating solve (FTM: P̃ | D | affine; default: the rule's). */
  iterations?: number;
  /** Stop early when a round lowers the error by less than this fraction. */
  tolerance?: number;
  /** Relative ridge of the least-squares solves (default DEFAULT_DAMPING, see solveDamped). */
  damping?: number;
  /** onnxruntime threads for solves that batch their algebra there (default: the machine's cores). */
  threads?: number;
}

/** Relative output errors ‖Y − Ŷ‖² / ‖Y − mean Y‖² of the fitted layer on its statistics, before and after the solve. */
export interface FitResult {
  errorBefore: number;
  errorAfter: number;
}

/**
 * How a proposal's weights are fitted to data, by least squares on streamed statistics (src/fit runs it): the student
 * value the fitted layer reads, the teacher value it must reproduce, the receptive field between them, and the solve.
 * The driver keeps `input` pointing at the value the student really feeds the layer when a later rewrite replaces it.
 */
export interface FitPlan {
  /** The value of the rewritten (student) model that feeds the fitted weights. */
  input: Value;
  /** The name, in the original (teacher) model, of the value to reproduce (the matched conv's pre-activation output). */
  target: string;
  /** Input channels, output channels and conv geometry (2-D, group 1) mapping `input` to `target`: the patches to collect. */
  patches: PatchLayer;
  /** Fits the proposal's params (in place) from the statistics of `patches` over (student input, teacher target). */
  solve(stats: PatchStats, params: Params, options: FitSolveOptions): FitResult | Promise<FitResult>;
}

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
