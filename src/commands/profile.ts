import { availableParallelism } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { formatIntake } from '../intake/format.js';
import { intakeModel } from '../intake/intake.js';
import { loadModel } from '../onnx/load.js';
import { formatProfile } from '../profile/format.js';
import { profileModel } from '../profile/profile.js';
import { writeTextAtomic } from '../report/write-text.js';
import { calibrationFromArgs, withCalibOptions, type CalibArgs } from './calib-options.js';
import { progressReporter } from './progress.js';

/** The parsed flags; yargs also gives each kebab-case flag a camelCase name, which its types do not know. */
interface ProfileArgs extends CalibArgs {
  model: string;
  layers?: string[];
  threads: number;
  batchSize: number;
  s: number;
  threshold: number;
  includeFirst: boolean;
  centered: boolean;
  json?: string;
}

export const profileCommand: CommandModule<object, ProfileArgs> = {
  command: 'profile <model>',
  describe: "Measure how redundant each Conv layer's output channels are on calibration data, and how FTM would group them",
  builder: (y) =>
    withCalibOptions(y.positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' }))
      .option('layers', { type: 'string', array: true, describe: 'Profile only these Conv layers (node names)' })
      .option('threads', { type: 'number', default: availableParallelism(), describe: 'onnxruntime threads' })
      .option('batch-size', { type: 'number', default: 64, describe: 'Samples per onnxruntime run' })
      .option('s', { type: 'number', default: 2, describe: 'FTM ratio: channels per (prime, ghosts) group' })
      .option('threshold', { type: 'number', default: 30, describe: 'PSNR (dB) a best partner must reach to count in the share column' })
      .option('include-first', { type: 'boolean', default: false, describe: 'Let the first convolutions qualify for FTM' })
      .option('centered', { type: 'boolean', default: true, describe: 'Compare mean-centered maps (affine copies); --no-centered: plain scaled copies' })
      .option('json', { type: 'string', describe: 'Also write the full report (PSNR matrices, pairing) as JSON to this file' }) as unknown as Argv<ProfileArgs>,
  handler: async (args) => {
    const { model, report: intake } = intakeModel(loadModel(args.model));
    const calib = await calibrationFromArgs(args, model);
    const progress = progressReporter('profile', 'samples');
    let report;
    try {
      report = await profileModel(model, calib, {
        layers: args.layers,
        threads: args.threads,
        batchSize: args.batchSize,
        s: args.s,
        threshold: args.threshold,
        includeFirst: args.includeFirst,
        centered: args.centered,
        onProgress: (p) => progress.update(p.samples, p.total),
      });
    } finally {
      progress.stop();
    }
    if (args.json) writeTextAtomic(args.json, `${JSON.stringify(report)}\n`);
    process.stdout.write(`${formatProfile(report)}\n${formatIntake(intake)}\n`);
  },
};
