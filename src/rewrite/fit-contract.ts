import type { ConvGeometry } from '../ir/conv.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/**
 * The contract between a rule and the fitting engine: a rule's proposal says how its weights are fitted (`FitPlan`),
 * src/fit runs the plans. It lives with the rule API so that rules and src/fit both depend on it, and it on neither.
 */

/** The new weights of a proposal, by role (`pw.weight`, `affine.scale`, ...): what `init` and fitting fill in. */
export type Params = Map<string, Tensor>;

/** The convolution whose input patches are summarized: its input channels, output channels and geometry. */
export interface PatchLayer {
  cin: number;
  cout: number;
  geometry: ConvGeometry;
}

/**
 * Sufficient statistics of a least-squares fit of a layer's outputs Y (C_out channels) on its input patches, over every
 * output position of every calibration sample (collected by src/fit/patch-stats.ts). A patch X has `size` =
 * (C_in+1)·k² + 1 entries: entry c·k² + κ is input channel c at kernel tap κ (row-major taps, as in a Conv weight),
 * where channel C_in is a constant-1 channel zero-padded like the input (it carries a bias through the padding of a
 * following k×k conv), and the last entry is an always-1 term for the shift.
 */
export interface PatchStats {
  cin: number;
  /** Kernel taps k² (kh·kw). */
  k2: number;
  cout: number;
  /** (C_in+1)·k² + 1. */
  size: number;
  /** Σ X Xᵀ, size × size, row-major. */
  xx: Float64Array;
  /** Σ X Yᵀ, size × C_out, row-major. */
  xy: Float64Array;
  /** Σ y_c², per output channel. */
  yy: Float64Array;
  /** Number of positions summed over. */
  count: number;
}

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
  /**
   * Where the teacher computes `input`, when `input` is not itself a teacher value: the teacher's value `name`,
   * restricted to the `kept` channels (ascending) of its `of` when given (prune: the consumer reads the pruned conv's
   * kept channels). With it a layer can be fitted on the teacher's input alone (the mixed plan's trial fits).
   */
  teacherInput?: { name: string; channels?: { of: number; kept: readonly number[] } };
  /** Fits the proposal's params (in place) from the statistics of `patches` over (student input, teacher target). */
  solve(stats: PatchStats, params: Params, options: FitSolveOptions): FitResult | Promise<FitResult>;
}
