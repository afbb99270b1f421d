/**
 * Adam (Kingma & Ba 2015) over named float32 parameters, in place. Moments are float32 (as in PyTorch); the bias
 * corrections are computed in float64. Weight decay is decoupled (AdamW: p ← p − lr·λ·p, not added to the gradient),
 * so it does not pass through the adaptive scaling.
 */
export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay λ (default 0). */
  weightDecay?: number;
  /** Per parameter, a factor on the learning rate of `step` (default 1): see tensorLrScales. */
  lrScales?: ReadonlyMap<string, number>;
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly lrScales?: ReadonlyMap<string, number>;
  /** Steps taken so far. */
  t = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  /** `params` are updated in place by `step`; the optimizer keeps references, not copies. */
  constructor(
    readonly params: ReadonlyMap<string, Float32Array>,
    options: AdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.lrScales = options.lrScales;
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  /**
   * One update with learning rate `lr` from the gradients by parameter name. A parameter without a gradient in
   * `grads` is left alone (its moments too).
   */
  step(grads: ReadonlyMap<string, ArrayLike<number>> | Record<string, ArrayLike<number>>, lr: number): void {
    this.t++;
    const { beta1, beta2, epsilon } = this;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const sqrtC2 = Math.sqrt(c2);
    for (const [name, p] of this.params) {
      // p −= lr·m̂/(√v̂ + ε) with m̂ = m/c1, v̂ = v/c2
      const rate = lr * (this.lrScales?.get(name) ?? 1);
      const stepSize = rate / c1;
      const decay = 1 - rate * this.weightDecay;
      const g = grads instanceof Map ? grads.get(name) : (grads as Record<string, ArrayLike<number>>)[name];
      if (!g) continue;
      if (g.length !== p.length) throw new RangeError(`gradient of "${name}" has ${g.length} values, the parameter ${p.length}`);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p[i] = p[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtC2 + epsilon);
      }
    }
  }
}
