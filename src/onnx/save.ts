import { accessSync, closeSync, constants, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { encodeModelProto, type ExternalWriter } from './encode.js';

/** Protobuf's hard limit for one message. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Below this, tensors stay inside the protobuf even when external data is written (onnx's default). */
const EXTERNAL_THRESHOLD = 1024;
const ALIGN = 64;

export interface SaveOptions {
  /** Allow writing over the file the model was loaded from. */
  force?: boolean;
  /** Write tensors of at least `threshold` bytes to `location` (default `<model file name>.data`) beside the model. */
  externalData?: boolean | { location?: string; threshold?: number };
}

/** The model as ONNX protobuf bytes, all data inline. */
export function encodeModel(model: Model): Uint8Array {
  if (estimatedSize(model) > PROTOBUF_LIMIT) {
    throw ftmError('E_UNSUPPORTED', 'the model holds more than 2 GiB of tensor data, which one protobuf cannot hold: save it to a file with external data');
  }
  return encodeModelProto(model);
}

/**
 * Writes the model atomically (temporary files, then rename): a failure leaves no partial output. External data is
 * written when asked, or when the model would not fit in one protobuf.
 */
export function saveModel(model: Model, path: string, options: SaveOptions = {}): void {
  const target = resolve(path);
  refuseOverwritingInput(model, target, options.force === true);
  const ext = options.externalData ?? estimatedSize(model) > PROTOBUF_LIMIT * 0.9;
  const extOptions = typeof ext === 'object' ? ext : {};
  const location = extOptions.location ?? `${basename(target)}.data`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const writer: ExternalWriter | undefined = ext
    ? (t: Tensor) => {
        const bytes = t.rawBytes();
        if (bytes.length < (extOptions.threshold ?? EXTERNAL_THRESHOLD)) return undefined;
        const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
        if (pad) chunks.push(new Uint8Array(pad));
        const at = offset + pad;
        chunks.push(bytes);
        offset = at + bytes.length;
        return { location, offset: at, length: bytes.length };
      }
    : undefined;
  const bytes = encodeModelProto(model, writer);
  const temps: string[] = [];
  try {
    const renames: [string, string][] = [];
    if (chunks.length) renames.push([writeTemp(join(dirname(target), location), chunks, temps), join(dirname(target), location)]);
    renames.push([writeTemp(target, [bytes], temps), target]);
    for (const [from, to] of renames) renameSync(from, to);
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).errno === 'number'
      ? ftmError('E_OUTPUT_UNWRITABLE', `cannot write the model (${(e as NodeJS.ErrnoException).code})`, path)
      : e;
  }
}

/** Checks early, before long work, that `saveModel(model, path)` could write there. */
export function assertWritable(model: Model, path: string, force = false): void {
  const target = resolve(path);
  refuseOverwritingInput(model, target, force);
  try {
    accessSync(dirname(target), constants.W_OK);
  } catch (e) {
    throw ftmError('E_OUTPUT_UNWRITABLE', `cannot write into ${dirname(target)} (${(e as NodeJS.ErrnoException).code})`, path);
  }
}

function refuseOverwritingInput(model: Model, target: string, force: boolean): void {
  try {
    if (statSync(target).isDirectory()) throw ftmError('E_OUTPUT_UNWRITABLE', 'expected an output file path, found a directory', target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (force || !model.path) return;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (real(target) === real(model.path)) {
    throw ftmError('E_OUTPUT_IS_INPUT', 'refusing to overwrite the input model; choose another output path or force it', target);
  }
}

function writeTemp(path: string, chunks: Uint8Array[], temps: string[]): string {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'w');
  temps.push(temp);
  try {
    for (const c of chunks) {
      for (let done = 0; done < c.length; ) done += writeSync(fd, c, done, Math.min(c.length - done, 1 << 30));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

function estimatedSize(model: Model): number {
  let total = 0;
  for (const v of model.graph.initializers) total += v.initializer!.byteLength;
  for (const node of model.graph.allNodes()) for (const a of node.attributes) if (a.value && typeof a.value === 'object' && 'dims' in (a.value as object)) total += (a.value as Tensor).byteLength;
  return total;
}
