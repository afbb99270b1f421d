import type { Argv } from 'yargs';
import { loadCalibration, readPreprocessFile } from '../calib/index.js';
import type { CalibrationSet } from '../calib/types.js';
import type { Model } from '../ir/model.js';

/** The calibration flags every command that runs the model on data takes. */
export interface CalibArgs {
  calib: string;
  calibLimit?: number;
  seed: number;
  preprocess?: string;
  size?: string;
  scale?: number;
  mean?: string;
  std?: string;
  channelOrder?: string;
  resize?: string;
}

/** Adds the calibration flags to a command (yargs gives kebab-case flags camelCase names too, as CalibArgs uses). */
export function withCalibOptions<T>(y: Argv<T>): Argv<T & CalibArgs> {
  return y
    .option('calib', { type: 'string', demandOption: true, describe: 'Folder of images and/or .npy files (or one file) to calibrate on' })
    .option('calib-limit', { type: 'number', describe: 'Use at most N samples, drawn with --seed' })
    .option('seed', { type: 'number', default: 0, describe: 'Seed of the --calib-limit sample' })
    .option('preprocess', { type: 'string', describe: 'JSON file of preprocessing options (the flags below override it)' })
    .option('size', { type: 'string', describe: 'Resize images to HxW (for a model input of symbolic size; default: the images\' own size when they all share it)' })
    .option('scale', { type: 'number', describe: 'Multiply 8-bit pixel values by this (default 1/255)' })
    .option('mean', { type: 'string', describe: 'Subtract after scaling: one value, or one per channel, comma-separated' })
    .option('std', { type: 'string', describe: 'Divide after the mean: one value, or one per channel, comma-separated' })
    .option('channel-order', { type: 'string', choices: ['rgb', 'bgr'], describe: 'Channel order of a 3-channel input (default rgb)' })
    .option('resize', { type: 'string', choices: ['fill', 'cover', 'contain'], describe: 'How images are fitted to HxW (default fill)' }) as unknown as Argv<T & CalibArgs>;
}

/** Loads the calibration set the flags describe; the flags take precedence over the --preprocess file. */
export async function calibrationFromArgs(args: CalibArgs, model: Model): Promise<CalibrationSet> {
  const flags = Object.fromEntries(
    Object.entries({
      size: args.size,
      scale: args.scale,
      mean: numberList(args.mean),
      std: numberList(args.std),
      channelOrder: args.channelOrder,
      resize: args.resize,
    }).filter(([, v]) => v !== undefined),
  );
  const fromFile = args.preprocess ? readPreprocessFile(args.preprocess) : {};
  return loadCalibration(args.calib, model, { ...fromFile, ...flags, limit: args.calibLimit, seed: args.seed });
}

/** "0.485,0.456,0.406" → numbers; text that is not such a list stays text, so the preprocessing check can quote it. */
function numberList(text: string | undefined): number[] | string | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  return values.every(Number.isFinite) ? values : text;
}
