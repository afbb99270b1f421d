import { closeSync, existsSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ftmError } from '../errors.js';
import { temporaryName } from './transaction.js';

/** A file a command will write, named for messages ("model", "report", ...). */
export interface PlannedOutput {
  path: string;
  what: string;
  /** Whether this output may replace the input model (the model itself, with --force). */
  mayReplaceInput?: boolean;
}

/**
 * Checks, before any work, that every output of a command can be written: no two the same file, none a directory,
 * none the input model (unless allowed), and each folder accepts a new file. The folder is probed by creating a file
 * and removing it: access() says yes to root even where nothing can be created (/proc).
 */
export function checkOutputs(outputs: PlannedOutput[], input?: string): void {
  const seen = new Map<string, PlannedOutput>();
  for (const out of outputs) {
    const real = realPath(out.path);
    const twin = seen.get(real);
    if (twin) throw ftmError('E_USAGE', `the ${twin.what} and the ${out.what} would be the same file; give them different paths`, out.path);
    seen.set(real, out);
    checkOutput(out, input);
  }
}

function checkOutput(out: PlannedOutput, input: string | undefined): void {
  const target = resolve(out.path);
  if (isDirectory(target)) throw ftmError('E_OUTPUT_UNWRITABLE', `expected a file path for the ${out.what}, found a directory`, out.path);
  if (input !== undefined && realPath(target) === realPath(input)) {
    if (!out.mayReplaceInput) {
      const how = out.what === 'model' ? '; choose another output path, or --force to replace it' : '; choose another path';
      throw ftmError('E_OUTPUT_IS_INPUT', `refusing to write the ${out.what} over the input model${how}`, out.path);
    }
  }
  probeFolder(dirname(target), out);
}

function probeFolder(folder: string, out: PlannedOutput): void {
  const probe = join(folder, temporaryName(out.path, 'probe'));
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = !existsSync(folder) ? 'the folder does not exist' : code === 'ENOTDIR' ? 'a file stands where the folder should be' : `a file cannot be created there (${code})`;
    throw ftmError('E_OUTPUT_UNWRITABLE', `cannot write into ${folder}, where the ${out.what} goes: ${why}`, out.path);
  }
  rmSync(probe, { force: true });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The real path, or the resolved one for a file that does not exist yet (through its folder's real path). */
function realPath(path: string): string {
  const target = resolve(path);
  try {
    return realpathSync(target);
  } catch {
    try {
      return join(realpathSync(dirname(target)), basename(target));
    } catch {
      return target;
    }
  }
}
