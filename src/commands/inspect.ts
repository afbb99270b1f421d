import type { CommandModule } from 'yargs';
import { formatInspect } from '../inspect/format.js';
import { inspectModel } from '../inspect/inspect.js';
import { intakeModel } from '../intake/intake.js';
import type { Model } from '../ir/model.js';
import { loadModel } from '../onnx/load.js';

interface InspectArgs {
  model: string;
  json: boolean;
  intake: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: "Print a model's inputs, outputs, operators and Conv layers with their parameters and MACs",
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .option('intake', { type: 'boolean', default: true, describe: 'Show the model as the other commands see it, after intake (--no-intake: as written)' }),
  handler: (args) => {
    const loaded = loadModel(args.model);
    const report = args.intake ? inspectIntake(loaded) : inspectModel(loaded);
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspect(report)}\n`);
  },
};

function inspectIntake(loaded: Model) {
  const { model, report } = intakeModel(loaded);
  return { ...inspectModel(model), intake: report };
}
