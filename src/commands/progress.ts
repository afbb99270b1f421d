import cliProgress from 'cli-progress';

/** Progress of a long step, shown on stderr so that stdout stays the command's result. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** Log lines at most every this share of the work when stderr is not a terminal (CI logs, redirects). */
const LOG_STEP = 0.1;

/** A bar on a terminal; otherwise a plain line per 10% (and at the end), which logs can hold. */
export function progressReporter(title: string, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(title, unit, stream) : lineProgress(title, unit, stream);
}

function barProgress(title: string, unit: string, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: `${title} [{bar}] {value}/{total} ${unit} | {eta_formatted} left`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineProgress(title: string, unit: string, stream: NodeJS.WriteStream): Progress {
  let logged = -1;
  return {
    update(done, total) {
      const step = Math.floor(done / total / LOG_STEP);
      if (step === logged && done < total) return;
      logged = step;
      stream.write(`${title}: ${done}/${total} ${unit} (${Math.round((100 * done) / total)}%)\n`);
    },
    stop() {},
  };
}
