import type { CommandModule } from 'yargs';
import { formatInspect } from '../analysis/format-inspect.js';
import { inspectModel } from '../analysis/inspect.js';
import { loadModel } from '../onnx/load.js';

interface InspectArgs {
  model: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: "Print a model's inputs, outputs, operators and Conv layers with their parameters and MACs",
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' }),
  handler: (args) => {
    const report = inspectModel(loadModel(args.model));
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspect(report)}\n`);
  },
};
