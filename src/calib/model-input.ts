import { ftmError } from '../errors.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { PreprocessOptions } from './preprocess.js';

/** The model input calibration data feeds, as declared in the model. */
export interface ModelInput {
  name: string;
  /** Dims of one sample (the leading batch dim dropped); null where the model leaves a dim symbolic or unknown. */
  sampleDims: (number | null)[];
}

/** The model input as an image: an NCHW tensor with every dim but the batch known. */
export interface ImageInput {
  inputName: string;
  channels: 1 | 3;
  height: number;
  width: number;
}

/**
 * The first graph input that is not an initializer (an input with an initializer is an overridable constant, not
 * data), which must be float32 with a batch dim. `size` fills a symbolic H and W of an NCHW input.
 */
export function findModelInput(model: Model, size?: [number, number]): ModelInput {
  const where = model.path;
  const input = model.graph.inputs.find((v) => !v.initializer);
  if (!input) throw ftmError('E_UNSUPPORTED', 'the model has no graph input (other than initializers) to feed calibration data to', where);
  const about = `input "${input.name}"`;
  if (input.elemType !== DataType.FLOAT) {
    throw ftmError('E_UNSUPPORTED', `${about}: calibration feeds float32 inputs, the model declares ${dtypeName(input.elemType)}`, where);
  }
  const shape = input.shape;
  if (!shape || shape.length < 2) {
    throw ftmError('E_UNSUPPORTED', `${about}: expected a batch dim and at least one more, found ${shape ? `rank ${shape.length}` : 'an unknown rank'}`, where);
  }
  const sampleDims = shape.slice(1).map((d) => (typeof d === 'number' ? d : null));
  if (size) {
    if (sampleDims.length !== 3) throw ftmError('E_PREPROCESS', `size applies to an NCHW input; ${about} has rank ${shape.length}`, where);
    for (const [axis, name] of [[1, 'height'], [2, 'width']] as const) {
      const declared = sampleDims[axis];
      if (declared !== null && declared !== size[axis - 1]) {
        throw ftmError('E_PREPROCESS', `size ${size[0]}x${size[1]} contradicts ${about}, whose ${name} is ${declared} (${formatDims(shape)})`, where);
      }
      sampleDims[axis] = size[axis - 1];
    }
  }
  return { name: input.name, sampleDims };
}

/** An image of the calibration set, with its stored size. */
export interface ImageSize {
  file: string;
  height: number;
  width: number;
}

/**
 * The size to resize images to when none is given and the model's NCHW input leaves its height or width symbolic:
 * the images' own, when they all have the same (said on `notify`, as a user may expect another); undefined when the
 * model's H and W are known or no image is given. Images of different sizes throw E_PREPROCESS asking for --size:
 * choosing one of them would stretch the others without a word.
 */
export function sizeFromImages(model: Model, images: readonly ImageSize[], notify: (message: string) => void): [number, number] | undefined {
  const { name, sampleDims } = findModelInput(model);
  if (images.length === 0 || sampleDims.length !== 3 || (sampleDims[1] !== null && sampleDims[2] !== null)) return undefined;
  const about = `input "${name}" [N,${formatDims(sampleDims)}] has a symbolic ${symbolicAxes(sampleDims)}`;
  const [first] = images;
  const other = images.find((i) => i.height !== first.height || i.width !== first.width);
  if (other) {
    throw ftmError('E_PREPROCESS', `${about} and the calibration images differ in size (${first.file} is ${first.height}x${first.width}, ${other.file} ${other.height}x${other.width}, HxW): give the size to resize them to (--size HxW)`, model.path);
  }
  const size: [number, number] = [sampleDims[1] ?? first.height, sampleDims[2] ?? first.width];
  const all = images.length === 1 ? 'the calibration image' : `all ${images.length} calibration images`;
  notify(`${about}: using ${size[0]}x${size[1]} (HxW), the size of ${all} (--size HxW to choose another)`);
  return size;
}

function symbolicAxes(sampleDims: readonly (number | null)[]): string {
  if (sampleDims[1] === null && sampleDims[2] === null) return 'height and width';
  return sampleDims[1] === null ? 'height' : 'width';
}

/** The model input as images must fill it: NCHW with 1 (gray) or 3 (colour) channels and a known H×W. */
export function resolveInput(model: Model, options: Pick<PreprocessOptions, 'size'> = {}): ImageInput {
  const where = model.path;
  const { name, sampleDims } = findModelInput(model, options.size);
  const about = `input "${name}" [N,${formatDims(sampleDims)}]`;
  if (sampleDims.length !== 3) {
    throw ftmError('E_PREPROCESS', `images fill an NCHW input, ${about} has rank ${sampleDims.length + 1}: give the data as .npy files`, where);
  }
  const [channels, height, width] = sampleDims;
  if (channels !== 1 && channels !== 3) {
    throw ftmError('E_PREPROCESS', `images give 1 (gray) or 3 (RGB/BGR) channels, ${about} has ${channels ?? 'a symbolic number of'} channels: give the data as .npy files`, where);
  }
  if (height === null || width === null) {
    throw ftmError('E_PREPROCESS', `${about} has a symbolic height or width: give the image size (--size HxW)`, where);
  }
  return { inputName: name, channels, height, width };
}

/** Dims as a user reads them: symbols and unknowns as "?". */
export function formatDims(dims: readonly (number | string | null)[]): string {
  return dims.map((d) => (typeof d === 'number' ? d : '?')).join(',');
}
