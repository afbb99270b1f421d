import cliProgress from 'cli-progress';

/** Progress of a long step, shown on stderr so that stdout stays the command's result. */
export interface Progress {
  /** `detail`: a short state shown beside the count (e.g. the running loss). */
  update(done: number, total: number, detail?: string): void;
  stop(): void;
}

/** Log lines at most every this share of the work when stderr is not a terminal (CI logs, redirects). */
const LOG_STEP = 0.1;

/**
 * A bar with the time spent and left on a terminal; otherwise a plain line per 10% (and at the end), which logs can
 * hold, the lines in between with the time spent and left. The time left assumes the rest goes at the pace so far.
 */
export function progressReporter(title: string, unit: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  return stream.isTTY ? barProgress(title, unit, stream) : lineProgress(title, unit, stream, now);
}

function barProgress(title: string, unit: string, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: `${title} [{bar}] {value}/{total} ${unit} | {duration_formatted} spent, {eta_formatted} left {detail}`, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, detail = '') {
      if (!started) bar.start(total, 0, { detail });
      started = true;
      bar.setTotal(total);
      bar.update(done, { detail });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineProgress(title: string, unit: string, stream: NodeJS.WriteStream, now: () => number): Progress {
  let logged = -1, last = -1, start = -1;
  return {
    update(done, total, detail) {
      if (start < 0) start = now();
      const step = Math.floor(done / total / LOG_STEP);
      if ((step === logged && done < total) || (done === last && !detail)) return;
      logged = step;
      last = done;
      const spent = (now() - start) / 1000;
      const timing = done > 0 && done < total ? ` ${duration(spent)} spent, ~${duration((spent * (total - done)) / done)} left` : '';
      stream.write(`${title}: ${done}/${total} ${unit} (${Math.round((100 * done) / total)}%)${timing}${detail ? ` ${detail}` : ''}\n`);
    },
    stop() {},
  };
}

/** 75 → "1m15s", 3725 → "1h02m", 4.2 → "4s". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
