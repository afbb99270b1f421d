/**
 * Watches the training loss for divergence: a loss that is not finite, or one that stays above `factor` times the
 * starting loss for `patience` steps in a row. The starting loss is the first step's, computed before any update:
 * the loss of the starting parameters (on one batch). Later steps are no reference: with a rate far too large, the
 * very first update already sends the loss up.
 */
export class DivergenceWatch {
  /** The first step's loss (NaN before it). */
  startLoss = NaN;
  private above = 0;

  constructor(readonly options: { factor: number; patience: number }) {}

  /** Records one step's loss; returns why training diverged, or undefined. */
  observe(loss: number): string | undefined {
    if (!Number.isFinite(loss)) return `the loss became ${loss}`;
    if (Number.isNaN(this.startLoss)) {
      this.startLoss = loss;
      return undefined;
    }
    this.above = loss > this.options.factor * this.startLoss ? this.above + 1 : 0;
    if (this.above < this.options.patience) return undefined;
    return `the loss stayed above ${this.options.factor}× the starting loss ${this.startLoss.toPrecision(4)} for ${this.above} steps (last ${loss.toPrecision(4)})`;
  }
}
