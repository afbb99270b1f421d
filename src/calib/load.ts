import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { imageTransform, probeImage, type ImageHeader } from './images.js';
import { findModelInput, resolveInput, sizeFromImages } from './model-input.js';
import { npySamples, readNpyHeader, type NpyFile } from './npy.js';
import { checkPreprocess, type PreprocessOptions } from './preprocess.js';
import { sampleIndices } from './random.js';
import { StreamedCalibrationSet, type Sample } from './set.js';
import type { CalibrationSet } from './types.js';

export interface CalibOptions extends PreprocessOptions {
  /** Use at most this many samples, drawn with `seed` and kept in file order. Default: all. */
  limit?: number;
  /** Seed of the `limit` sample. Default 0. */
  seed?: number;
  /** Hears about skipped files. Default: one line on stderr each. */
  onWarning?: (message: string) => void;
}

/** A file of the calibration path, after its header was read. */
type Entry = { kind: 'image'; file: string; header: ImageHeader } | { kind: 'npy'; npy: NpyFile };

/** What a folder holds besides files to try. */
interface Listing {
  /** False when the path is a single file. */
  folder: boolean;
  files: string[];
  subfolders: number;
  hidden: number;
}

/**
 * Calibration data for `model` from `path`: a folder of images and/or .npy files (sorted by name, not recursive,
 * hidden files ignored; files sharp cannot read are skipped with a warning) or a single image or .npy file.
 * Every file's header is read and checked here, so that errors come before any long work; pixels are decoded later,
 * batch by batch, by the returned set.
 */
export async function loadCalibration(path: string, model: Model, options: CalibOptions = {}): Promise<CalibrationSet> {
  const { limit, seed = 0, onWarning = warnOnStderr, ...rest } = options;
  const preprocess = checkPreprocess(rest as Record<string, unknown>);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw ftmError('E_USAGE', `limit: expected a positive integer, found ${limit}`);
  if (!Number.isInteger(seed)) throw ftmError('E_USAGE', `seed: expected an integer, found ${seed}`);
  const input = findModelInput(model, preprocess.size);

  const entries = await readEntries(path, onWarning);
  const images = entries.flatMap((e) => (e.kind === 'image' ? [{ file: e.file, ...e.header }] : []));
  const size = preprocess.size ?? sizeFromImages(model, images, onWarning);
  const transform = images.length ? imageTransform(resolveInput(model, { size }), preprocess) : undefined;
  let sampleShape = transform && [transform.channels, transform.height, transform.width];
  const samples: Sample[] = [];
  for (const entry of entries) {
    if (entry.kind === 'image') {
      // Set above whenever there are images.
      samples.push({ kind: 'image', file: entry.file, header: entry.header, transform: transform! });
      continue;
    }
    // Dims the model leaves symbolic take the first .npy file's values; every other file must agree.
    const { count, dims } = npySamples(entry.npy, sampleShape ?? input.sampleDims, input.name);
    sampleShape ??= dims;
    for (let index = 0; index < count; index++) samples.push({ kind: 'npy', npy: entry.npy, index });
  }
  if (samples.length === 0 || !sampleShape) {
    throw ftmError('E_CALIB_EMPTY', 'no calibration samples: the .npy files hold 0 samples (their batch dim is 0)', path);
  }
  const chosen = limit === undefined || limit >= samples.length ? samples : sampleIndices(samples.length, limit, seed).map((i) => samples[i]);
  return new StreamedCalibrationSet(input.name, sampleShape, chosen);
}

/** The usable files of `path` with their headers read, in name order. */
async function readEntries(path: string, onWarning: (message: string) => void): Promise<Entry[]> {
  const listing = listPath(path, onWarning);
  const read = await Promise.all(
    listing.files.map(async (file): Promise<Entry | { file: string; unreadable: string }> => {
      if (file.toLowerCase().endsWith('.npy')) return { kind: 'npy', npy: readNpyHeader(file) };
      const probe = await probeImage(file);
      return 'unreadable' in probe ? { file, unreadable: probe.unreadable } : { kind: 'image', file, header: probe };
    }),
  );
  const usable: Entry[] = [];
  // Warnings after all probes, so they come in file order rather than in the order the probes finish.
  for (const r of read) {
    if (!('unreadable' in r)) usable.push(r);
    else if (!listing.folder) throw ftmError('E_CALIB_BAD_FILE', `expected an image (PNG, JPEG, WebP, ...) or a .npy file, sharp cannot read it (${r.unreadable})`, r.file);
    else onWarning(`${r.file}: not an image sharp can read (${r.unreadable}); skipped`);
  }
  if (usable.length === 0) {
    const found = [
      plural(listing.files.length, 'non-image file'),
      plural(listing.subfolders, 'subfolder', ' (not searched)'),
      plural(listing.hidden, 'hidden file', ' (ignored)'),
    ].filter((s) => s !== '');
    throw ftmError('E_CALIB_EMPTY', `no calibration data: expected images (PNG, JPEG, WebP, ...) or .npy files, found ${found.join(', ') || 'an empty folder'}`, path);
  }
  if (listing.subfolders > 0) onWarning(`${path}: ${plural(listing.subfolders, 'subfolder')} not searched (calibration folders are read non-recursively)`);
  return usable;
}

/**
 * The files to try: `path` itself, or the non-hidden files of the folder in code-unit order (the same on every
 * machine and locale, which localeCompare is not).
 */
function listPath(path: string, onWarning: (message: string) => void): Listing {
  const stat = statOrThrow(path);
  if (stat.isFile()) return { folder: false, files: [path], subfolders: 0, hidden: 0 };
  if (!stat.isDirectory()) throw ftmError('E_CALIB_NOT_FOUND', 'expected a folder of images or .npy files, or one such file; found neither', path);
  const listing: Listing = { folder: true, files: [], subfolders: 0, hidden: 0 };
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.')) {
      listing.hidden++;
      continue;
    }
    const file = join(path, name);
    let entry;
    try {
      entry = statSync(file);
    } catch (e) {
      onWarning(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)}); skipped`);
      continue;
    }
    if (entry.isDirectory()) listing.subfolders++;
    else listing.files.push(file);
  }
  return listing;
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw ftmError('E_CALIB_NOT_FOUND', 'no such calibration folder or file', path);
    throw ftmError('E_CALIB_NOT_FOUND', `cannot read the calibration path (${code ?? String(e)})`, path);
  }
}

function plural(n: number, word: string, note = ''): string {
  return n === 0 ? '' : `${n} ${word}${n === 1 ? '' : 's'}${note}`;
}

function warnOnStderr(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
