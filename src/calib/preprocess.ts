import { readFileSync } from 'node:fs';
import { ftmError } from '../errors.js';
import { openError } from '../onnx/read-file.js';

/**
 * How images become model inputs: what the model cannot tell us. Every field is optional; the defaults are those of
 * the usual torchvision pipeline (ToTensor, no Normalize). `.npy` data is fed as it is: none of this applies to it.
 */
export interface PreprocessOptions {
  /** Height and width to resize to; needed only when the model's H/W are symbolic (must agree when they are not). */
  size?: [number, number];
  /**
   * sharp's fit mode. Default 'fill': stretch to exactly H×W. It keeps every pixel of the image and invents none (no
   * crop, no padding colour to choose), and it is what torchvision's Resize((h, w)) does. 'cover' crops the centre to
   * keep the aspect ratio, 'contain' letterboxes with black.
   */
  resize?: ResizeMode;
  /** Multiplies the 8-bit pixel values first (16-bit images are reduced to 8 bits). Default 1/255. */
  scale?: number;
  /** Subtracted after scaling: one value or one per channel, in the model's channel order. Default 0. */
  mean?: number[];
  /** Divides after the mean: one value or one per channel, in the model's channel order. Default 1. */
  std?: number[];
  /** Channel order of a 3-channel input. Default 'rgb'; 'bgr' for models trained on OpenCV-loaded images. */
  channelOrder?: ChannelOrder;
}

export type ResizeMode = 'fill' | 'cover' | 'contain';
export type ChannelOrder = 'rgb' | 'bgr';

export const PREPROCESS_DEFAULTS = {
  resize: 'fill',
  scale: 1 / 255,
  mean: [0],
  std: [1],
  channelOrder: 'rgb',
} as const satisfies Required<Omit<PreprocessOptions, 'size'>>;

const RESIZE_MODES: readonly ResizeMode[] = ['fill', 'cover', 'contain'];
const CHANNEL_ORDERS: readonly ChannelOrder[] = ['rgb', 'bgr'];

/** "28x28" (also "28X28", "28×28") → [28, 28]: height then width, as in NCHW. */
export function parseSize(text: string, where?: string): [number, number] {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  const size: [number, number] | undefined = m ? [Number(m[1]), Number(m[2])] : undefined;
  if (!size || size[0] === 0 || size[1] === 0) {
    throw ftmError('E_PREPROCESS', `size: expected HxW with positive integers (e.g. 224x224), found "${text}"`, where);
  }
  return size;
}

/** Reads a preprocessing file: a JSON object with the keys of PreprocessOptions; `size` may be "HxW" or [h, w]. */
export function readPreprocessFile(path: string): PreprocessOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw openError(e, path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw ftmError('E_PREPROCESS', `expected a JSON preprocessing file, the JSON does not parse (${(e as Error).message})`, path);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw ftmError('E_PREPROCESS', `expected a JSON object of preprocessing options, found ${Array.isArray(json) ? 'an array' : typeof json}`, path);
  }
  return checkPreprocess(json as Record<string, unknown>, path);
}

/**
 * Checks options that come from outside the type system (a JSON file, CLI flags, JavaScript callers): known keys
 * only, each of the right type and range. Undefined values are absent. Returns them typed, without defaults applied.
 */
export function checkPreprocess(raw: Record<string, unknown>, where?: string): PreprocessOptions {
  const out: PreprocessOptions = {};
  const fail = (key: string, expected: string, value: unknown) =>
    ftmError('E_PREPROCESS', `${key}: expected ${expected}, found ${JSON.stringify(value) ?? String(value)}`, where);
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    switch (key) {
      case 'size':
        if (typeof value === 'string') out.size = parseSize(value, where);
        else if (Array.isArray(value) && value.length === 2 && value.every((v) => Number.isInteger(v) && v > 0)) out.size = [value[0], value[1]];
        else throw fail(key, '"HxW" or [height, width] with positive integers', value);
        break;
      case 'resize':
        if (!RESIZE_MODES.includes(value as ResizeMode)) throw fail(key, `one of ${RESIZE_MODES.join(', ')}`, value);
        out.resize = value as ResizeMode;
        break;
      case 'scale':
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw fail(key, 'a positive number', value);
        out.scale = value;
        break;
      case 'mean':
        if (!isNumberList(value, () => true)) throw fail(key, 'a non-empty array of numbers (one, or one per channel)', value);
        out.mean = value;
        break;
      case 'std':
        if (!isNumberList(value, (v) => v > 0)) throw fail(key, 'a non-empty array of positive numbers (one, or one per channel)', value);
        out.std = value;
        break;
      case 'channelOrder':
        if (!CHANNEL_ORDERS.includes(value as ChannelOrder)) throw fail(key, `one of ${CHANNEL_ORDERS.join(', ')}`, value);
        out.channelOrder = value as ChannelOrder;
        break;
      default:
        throw ftmError('E_PREPROCESS', `unknown preprocessing option "${key}" (known: size, resize, scale, mean, std, channelOrder)`, where);
    }
  }
  return out;
}

function isNumberList(value: unknown, ok: (v: number) => boolean): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number' && Number.isFinite(v) && ok(v));
}
