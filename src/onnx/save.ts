import { basename, dirname, join } from 'node:path';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { checkOutputs } from '../output/check.js';
import { writeOutputs, type OutputFile } from '../output/transaction.js';
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
 * written when asked, or when the model would not fit in one protobuf. Replacing the file the model was loaded from
 * takes `force`; any other existing file is replaced.
 */
export function saveModel(model: Model, path: string, options: SaveOptions = {}): void {
  checkOutputs([{ path, what: 'model', mayReplaceInput: options.force === true }], model.path);
  writeOutputs(modelFiles(model, path, options));
}

/** The files that hold the model at `path`: the model and, with external data, its data file beside it. */
export function modelFiles(model: Model, path: string, options: SaveOptions = {}): OutputFile[] {
  const ext = options.externalData ?? estimatedSize(model) > PROTOBUF_LIMIT * 0.9;
  const extOptions = typeof ext === 'object' ? ext : {};
  const location = extOptions.location ?? `${basename(path)}.data`;
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
  const data = chunks.length ? [{ path: join(dirname(path), location), what: 'model\'s external data', data: chunks }] : [];
  return [...data, { path, what: 'model', data: bytes }];
}

function estimatedSize(model: Model): number {
  let total = 0;
  for (const v of model.graph.initializers) total += v.initializer!.byteLength;
  for (const node of model.graph.allNodes()) for (const a of node.attributes) if (a.value && typeof a.value === 'object' && 'dims' in (a.value as object)) total += (a.value as Tensor).byteLength;
  return total;
}
