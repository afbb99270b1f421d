import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Debian's python3 with the onnx package: an independent oracle for tests. Locally it may be missing, and those tests
 * skip with a printed reason; with CI=true a missing oracle is a failure (CI installs it in .ci/run).
 */
const PYTHON = '/usr/bin/python3';

function probe(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import onnx, numpy; print(onnx.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} with the onnx package (Debian python3-onnx) is not available`;
}

export const pythonOnnxMissing = probe();

if (pythonOnnxMissing) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${pythonOnnxMissing}: .ci/run must install python3-onnx`);
  console.warn(`SKIPPING oracle tests: ${pythonOnnxMissing}`);
}

/** Runs a script of test/oracle with arguments; returns its stdout parsed as JSON. */
export function runOracle(script: string, args: string[], input?: string): unknown {
  const out = execFileSync(PYTHON, [new URL(`../oracle/${script}`, import.meta.url).pathname, ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out);
}

/** Fails under CI, skips (with the reason printed) elsewhere, when a Debian data package is missing. */
export function requireDebianPath(path: string, pkg: string, exists: boolean): string | undefined {
  if (exists) return undefined;
  const reason = `${path} not found (Debian package ${pkg})`;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}: .ci/run must install it`);
  console.warn(`SKIPPING: ${reason}`);
  return reason;
}

let torchProbe: string | undefined | null = null;

/**
 * Why /usr/bin/python3 cannot import torch and torchvision (Debian python3-torch, python3-torchvision), or
 * undefined. Missing, it is a printed skip locally and a failure with CI=true. Probed on the first call only (an
 * import of torch takes seconds, and most test files never ask).
 */
export function pythonTorchMissing(): string | undefined {
  if (torchProbe !== null) return torchProbe;
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  torchProbe = r.status === 0 ? undefined : `${PYTHON} with torch and torchvision (Debian python3-torch, python3-torchvision) is not available`;
  if (torchProbe && process.env.CI === 'true') throw new Error(`CI=true but ${torchProbe}: .ci/run must install them`);
  if (torchProbe) console.warn(`SKIPPING torch tests: ${torchProbe}`);
  return torchProbe;
}
