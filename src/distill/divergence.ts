/**
 * Watches the training loss for divergence: a loss that is not finite, or one that stays above `factor` times the
 * starting loss (at least `floor`) for `patience` steps in a row. The floor makes a start of ~0 (a student already equal
 * to its teacher) a usable reference: any rounding noise is not "4× the start". The starting loss is the first step's, computed before any update:
 * the loss of the starting parameters (on one batch). Later steps are no reference: with a rate far too large, the
 * very first update already sends the loss up.
 */
export class DivergenceWatch {
  /** The first step's loss (NaN before it). */
  startLoss = NaN;
  private above = 0;

  constructor(readonly options: { factor: number; patience: number; floor?: number }) {}

  /** Records one step's loss; returns why training diverged, or undefined. */
  observe(loss: number): string | undefined {
    if (!Number.isFinite(loss)) return `the loss became ${loss}`;
    if (Number.isNaN(this.startLoss)) {
      this.startLoss = loss;
      return undefined;
    }
    const floor = this.options.floor ?? 0;
    this.above = loss > this.options.factor * Math.max(this.startLoss, floor) ? this.above + 1 : 0;
    if (this.above < this.options.patience) return undefined;
    const reference = this.startLoss >= floor ? `the starting loss ${this.startLoss.toPrecision(4)}` : `the loss floor ${floor.toPrecision(4)} (the starting loss ${this.startLoss.toPrecision(4)} is below it)`;
    return `the loss stayed above ${this.options.factor}× ${reference} for ${this.above} steps (last ${loss.toPrecision(4)})`;
  }
}
