import sharp, { type Sharp } from 'sharp';
import { ftmError } from '../errors.js';
import type { ImageInput } from './model-input.js';
import { PREPROCESS_DEFAULTS, type PreprocessOptions, type ResizeMode } from './preprocess.js';

/** Everything needed to turn an image file into one CHW float32 sample; per-channel values expanded to C entries. */
export interface ImageTransform {
  channels: 1 | 3;
  height: number;
  width: number;
  fit: ResizeMode;
  /** For each model channel, the float value of each 8-bit pixel value: (v·scale − mean[c]) / std[c]. */
  tables: Float32Array[];
  /** For each model channel, the RGB channel it reads (0..2): the identity, or reversed for BGR. */
  sourceChannel: number[];
}

/** What sharp could tell about a file from its header alone. */
export interface ImageHeader {
  hasAlpha: boolean;
  /** The stored size, before any resize (no EXIF orientation is applied, see rgbPixels). */
  height: number;
  width: number;
}

export function imageTransform(input: ImageInput, options: PreprocessOptions): ImageTransform {
  const c = input.channels;
  const scale = options.scale ?? PREPROCESS_DEFAULTS.scale;
  const perChannel = (key: 'mean' | 'std', values: readonly number[]): readonly number[] => {
    if (values.length === 1) return Array<number>(c).fill(values[0]);
    if (values.length === c) return values;
    throw ftmError('E_PREPROCESS', `${key}: expected 1 value or ${c} (one per channel of input "${input.inputName}"), found ${values.length}`);
  };
  const mean = perChannel('mean', options.mean ?? PREPROCESS_DEFAULTS.mean);
  const std = perChannel('std', options.std ?? PREPROCESS_DEFAULTS.std);
  // A table per channel: 256 values computed once in float64 (one rounding to float32), then a lookup per pixel.
  const tables = mean.map((m, ch) => Float32Array.from({ length: 256 }, (_, v) => (v * scale - m) / std[ch]));
  const bgr = (options.channelOrder ?? PREPROCESS_DEFAULTS.channelOrder) === 'bgr';
  return {
    channels: c,
    height: input.height,
    width: input.width,
    fit: options.resize ?? PREPROCESS_DEFAULTS.resize,
    tables,
    sourceChannel: c === 3 && bgr ? [2, 1, 0] : [0, 1, 2].slice(0, c),
  };
}

/** Colour channels of the colourspaces that do not have 3. */
const COLOUR_CHANNELS: Record<string, number> = { 'b-w': 1, grey16: 1, cmyk: 4 };

/**
 * Reads a file's image header, or says why sharp cannot read it as an image. Throws E_CALIB_BAD_FILE for an image
 * whose channels cannot be mapped to gray or RGB (e.g. a 5-band TIFF): found now, not half-way through decoding.
 */
export async function probeImage(file: string): Promise<ImageHeader | { unreadable: string }> {
  let meta;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    return { unreadable: oneLine(e) };
  }
  const colour = COLOUR_CHANNELS[meta.space ?? ''] ?? 3;
  if (meta.channels - (meta.hasAlpha ? 1 : 0) !== colour) {
    throw ftmError('E_CALIB_BAD_FILE', `expected a gray, RGB or CMYK image with at most one alpha channel, found ${meta.channels} channels (${meta.space})`, file);
  }
  return { hasAlpha: meta.hasAlpha, height: meta.height, width: meta.width };
}

/** Decodes, resizes and normalizes one image into `out` (C×H×W floats). */
export async function decodeImage(file: string, header: ImageHeader, t: ImageTransform, out: Float32Array): Promise<void> {
  let rgb: Buffer;
  try {
    rgb = await rgbPixels(file, header, t);
  } catch (e) {
    throw ftmError('E_CALIB_BAD_FILE', `cannot decode the image (${oneLine(e)})`, file);
  }
  const plane = t.height * t.width;
  if (t.channels === 1) {
    // PIL's convert('L') (and, up to rounding, OpenCV's cvtColor): ITU-R 601 luma of the gamma-encoded values, in
    // PIL's fixed point, so gray stays exactly gray. sharp's greyscale() computes luminance in linear light instead
    // (pure red → 127, not 76), which is not what models were trained on.
    const table = t.tables[0];
    for (let p = 0; p < plane; p++) {
      out[p] = table[(rgb[3 * p] * 19595 + rgb[3 * p + 1] * 38470 + rgb[3 * p + 2] * 7471 + 0x8000) >> 16];
    }
    return;
  }
  for (let c = 0; c < 3; c++) {
    const table = t.tables[c];
    const src = t.sourceChannel[c];
    const base = c * plane;
    for (let p = 0; p < plane; p++) out[base + p] = table[rgb[3 * p + src]];
  }
}

/** 8-bit sRGB pixels, interleaved RGB (gray expanded, alpha dropped, CMYK converted), resized to H×W. */
async function rgbPixels(file: string, header: ImageHeader, t: ImageTransform): Promise<Buffer> {
  let source: Sharp = sharp(file);
  if (header.hasAlpha) {
    // Drop alpha before resizing, as PIL's convert('RGB') does: sharp resamples alpha images premultiplied, which
    // would turn the colour of transparent pixels into black at the edges.
    const { data, info } = await source.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    source = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  }
  // No EXIF auto-orientation: PIL, which torchvision's loader uses, does not apply it either.
  const { data, info } = await source
    .resize(t.width, t.height, { fit: t.fit, background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Guards the indexing in decodeImage: any other layout would be read as garbage, silently.
  if (info.channels !== 3) throw new Error(`expected an image sharp can convert to RGB, found ${info.channels} channels after conversion`);
  return data;
}

/** libvips reports some errors over many (repeated) lines; messages of this tool are one line. */
function oneLine(e: unknown): string {
  const lines = String((e as Error).message ?? e).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return [...new Set(lines)].join('; ');
}
