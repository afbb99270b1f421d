import cliProgress from 'cli-progress';

/** Progress of a long step, shown on stderr so that stdout stays the command's result. */
export interface Progress {
  /** `detail`: a short state shown beside the count (e.g. the running loss). */
  update(done: number, total: number, detail?: string): void;
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
    { stream, format: `${title} [{bar}] {value}/{total} ${unit} | {eta_formatted} left {detail}`, hideCursor: true },
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

function lineProgress(title: string, unit: string, stream: NodeJS.WriteStream): Progress {
  let logged = -1, last = -1;
  return {
    update(done, total, detail) {
      const step = Math.floor(done / total / LOG_STEP);
      if ((step === logged && done < total) || (done === last && !detail)) return;
      logged = step;
      last = done;
      stream.write(`${title}: ${done}/${total} ${unit} (${Math.round((100 * done) / total)}%)${detail ? ` ${detail}` : ''}\n`);
    },
    stop() {},
  };
}
