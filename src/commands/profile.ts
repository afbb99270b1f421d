import { availableParallelism } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { ftm } from '../../rewrites/ftm.js';
import { profilePage } from '../html/profile-page.js';
import { formatIntake } from '../intake/format.js';
import { intakeModel } from '../intake/intake.js';
import { loadModel } from '../onnx/load.js';
import { selectLayers } from '../profile/layers.js';
import { formatProfile } from '../profile/format.js';
import { profileModel } from '../profile/profile.js';
import { checkOutputs } from '../output/check.js';
import { resolveOptions } from '../rewrite/options.js';
import { writeOutputs } from '../output/transaction.js';
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
  /** A file, or '' (the flag without a value): stdout. */
  json?: string;
  html?: string;
  htmlLayer?: string;
  quiet: boolean;
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
      .option('json', { type: 'string', describe: 'Also write the full report (PSNR matrices, pairing) as JSON to this file; without a file: print it on stdout instead of the table' })
      .option('html', { type: 'string', describe: 'Write the report as one self-contained HTML page (redundancy chart, similarity map)' })
      .option('html-layer', { type: 'string', describe: 'The layer whose similarity map the page shows (default: the most redundant qualifying layer)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'No progress lines on stderr' }) as unknown as Argv<ProfileArgs>,
  handler: async (args) => {
    // a bad --s is a usage error before the model or the calibration data is read
    const ruleOptions = resolveOptions(ftm, { s: args.s, includeFirst: args.includeFirst });
    const { model, report: intake } = intakeModel(loadModel(args.model));
    const outputs = [
      ...(args.json ? [{ path: args.json, what: 'JSON report' }] : []),
      ...(args.html ? [{ path: args.html, what: 'page' }] : []),
    ];
    checkOutputs(outputs, model.path);
    if (args.htmlLayer !== undefined) selectLayers(model, [args.htmlLayer]);
    const calib = await calibrationFromArgs(args, model);
    const progress = args.quiet ? undefined : progressReporter('profile', 'samples');
    let report;
    try {
      report = await profileModel(model, calib, ftm, {
        layers: args.layers,
        threads: args.threads,
        batchSize: args.batchSize,
        ruleOptions,
        threshold: args.threshold,
        centered: args.centered,
        onProgress: (p) => progress?.update(p.samples, p.total),
      });
    } finally {
      progress?.stop();
    }
    writeOutputs([
      ...(args.json ? [{ path: args.json, what: 'JSON report', data: `${JSON.stringify(report)}\n` }] : []),
      ...(args.html ? [{ path: args.html, what: 'page', data: profilePage(report, args.htmlLayer) }] : []),
    ]);
    process.stdout.write(args.json === '' ? `${JSON.stringify(report)}\n` : `${formatProfile(report)}\n${formatIntake(intake)}\n`);
  },
};
