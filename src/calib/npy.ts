import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ftmError } from '../errors.js';
import { formatDims } from './model-input.js';

/**
 * NumPy .npy files (format versions 1–3), for calibration data that is not images: float32 tensors already
 * preprocessed into the model's input layout. Only little-endian float32 in C order is read, so the bytes go straight
 * into a Float32Array (every platform onnxruntime-node ships for is little-endian).
 */
export interface NpyFile {
  file: string;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
}

const MAGIC = '\x93NUMPY';

/** Reads and checks the header: the dtype, the order, and that the file holds exactly the data its shape says. */
export function readNpyHeader(file: string): NpyFile {
  const bad = (message: string) => ftmError('E_CALIB_BAD_FILE', message, file);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw bad(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const size = fstatSync(fd).size;
    const prefix = readAt(fd, 0, Math.min(size, 12));
    if (prefix.length < 10 || prefix.toString('latin1', 0, 6) !== MAGIC) {
      throw bad(`expected a NumPy .npy file (starting with "\\x93NUMPY"), found ${size < 10 ? `${size} bytes` : 'other bytes'}`);
    }
    const major = prefix[6];
    if (major < 1 || major > 3) throw bad(`expected .npy format version 1, 2 or 3, found ${major}.${prefix[7]}`);
    // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one; version 3 allows UTF-8 in the header.
    const headerStart = major === 1 ? 10 : 12;
    if (prefix.length < headerStart) throw bad(`the .npy file is truncated: it ends after ${size} bytes, inside its header`);
    const headerLength = major === 1 ? prefix.readUInt16LE(8) : prefix.readUInt32LE(8);
    const dataOffset = headerStart + headerLength;
    if (dataOffset > size) throw bad(`the .npy file is truncated: its header ends at byte ${dataOffset}, the file has ${size}`);
    const header = readAt(fd, headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');
    const shape = parseHeader(header, bad);
    const expected = shape.reduce((n, d) => n * d, 4);
    if (size - dataOffset !== expected) {
      throw bad(`expected ${expected} bytes of float32 data for shape [${shape.join(',')}], found ${size - dataOffset}`);
    }
    return { file, shape, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/** The shape from the header dict (a Python literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }). */
function parseHeader(header: string, bad: (message: string) => Error): number[] {
  const descr = /['"]descr['"]\s*:\s*(?:'([^']*)'|"([^"]*)"|(\[))/.exec(header);
  if (!descr) throw bad(`the .npy header has no dtype ('descr'): ${header.trim()}`);
  if (descr[3]) throw bad(`expected float32 data ('<f4'), found a structured dtype`);
  const dtype = descr[1] ?? descr[2];
  if (dtype !== '<f4') throw bad(`expected float32 data ('<f4'), found '${dtype}'${describeDtype(dtype)}: save it with x.astype(np.float32)`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortran) throw bad(`the .npy header has no 'fortran_order': ${header.trim()}`);
  if (fortran[1] === 'True') throw bad('expected C-order data, found Fortran order: save it with np.ascontiguousarray(x)');
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  const dims = shape?.[1].split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (!dims || !dims.every((d) => /^\d+$/.test(d))) throw bad(`the .npy header has no readable 'shape': ${header.trim()}`);
  return dims.map(Number);
}

const KINDS: Record<string, string> = { f: 'float', i: 'int', u: 'uint', c: 'complex', b: 'bool' };

/** " (float64)" for '<f8', " (big-endian float32)" for '>f4': the NumPy name a user knows. */
function describeDtype(dtype: string): string {
  const m = /^([<>|=])([a-z])(\d+)$/.exec(dtype);
  if (!m || !KINDS[m[2]]) return '';
  const name = m[2] === 'b' ? 'bool' : `${KINDS[m[2]]}${Number(m[3]) * 8}`;
  return ` (${m[1] === '>' ? 'big-endian ' : ''}${name})`;
}

/**
 * How many samples the file holds for an input whose samples have `sampleDims` (null: any size): one sample of that
 * shape, or a batch [N, ...sampleDims]. Returns the concrete sample dims too, to fill the symbolic ones.
 */
export function npySamples(npy: NpyFile, sampleDims: readonly (number | null)[], inputName: string): { count: number; dims: number[] } {
  const { shape } = npy;
  const batched = shape.length === sampleDims.length + 1;
  const dims = batched ? shape.slice(1) : shape;
  if ((!batched && shape.length !== sampleDims.length) || dims.some((d, i) => sampleDims[i] !== null && sampleDims[i] !== d)) {
    const want = formatDims(sampleDims);
    throw ftmError('E_CALIB_SHAPE', `expected float32 of shape [${want}] (one sample) or [N,${want}] (a batch) for input "${inputName}", found [${shape.join(',')}]`, npy.file);
  }
  return { count: batched ? shape[0] : 1, dims };
}

/** Reads floats `first`, `first + 1`, ... of the file's data into `out`, filling it. */
export async function readNpyFloats(npy: NpyFile, first: number, out: Float32Array): Promise<void> {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const position = npy.dataOffset + first * 4;
  const handle = await open(npy.file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw ftmError('E_CALIB_BAD_FILE', `cannot read the file (${e.code ?? e.message})`, npy.file);
  });
  try {
    for (let done = 0; done < bytes.length; ) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, position + done);
      if (bytesRead === 0) throw ftmError('E_CALIB_BAD_FILE', `the file ends at byte ${position + done}, expected data up to ${position + bytes.length} (was it changed while running?)`, npy.file);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const n = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, n);
}
