import { describe, expect, it } from 'vitest';
import { duration, progressReporter } from '../src/commands/progress.js';

/** A stream that is not a terminal, collecting what is written. */
function logStream() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('progress without a terminal', () => {
  it('logs a plain line per 10% with the time spent and an estimate of the time left, from the pace so far', () => {
    const { stream, lines } = logStream();
    let clock = 0;
    const progress = progressReporter('fit', '%', stream, () => clock);
    progress.update(0, 100);
    clock = 30_000;
    progress.update(25, 100);
    progress.update(26, 100); // same 10% step: not logged
    clock = 90_000;
    progress.update(75, 100);
    progress.update(100, 100);
    expect(lines).toEqual(['fit: 0/100 % (0%)\n', 'fit: 25/100 % (25%) 30s spent, ~1m30s left\n', 'fit: 75/100 % (75%) 1m30s spent, ~30s left\n', 'fit: 100/100 % (100%)\n']);
  });

  it('formats durations in seconds, minutes and hours', () => {
    expect([4.2, 75, 3725].map(duration)).toEqual(['4s', '1m15s', '1h02m']);
  });
});
