#!/usr/bin/env node
/** Command line: parses arguments and calls the library; errors become one line and an exit code. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FtmError, ftmError } from './errors.js';
import { compressCommand } from './commands/compress.js';
import { inspectCommand } from './commands/inspect.js';
import { profileCommand } from './commands/profile.js';
import { rewriteCommand } from './commands/rewrite.js';

const verbose = process.argv.includes('--verbose');

function fail(e: unknown): never {
  if (e instanceof FtmError) {
    process.stderr.write(`ftm-compress: error ${e.code}: ${e.message}\n`);
    if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(e.exitCode);
  }
  const err = e as Error;
  process.stderr.write(`ftm-compress: internal error: ${err?.message ?? String(e)}\n`);
  process.stderr.write(verbose ? `${err?.stack}\n` : 'Run again with --verbose for the stack trace, and please report it.\n');
  process.exit(1);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('ftm-compress')
    .usage('$0 <model.onnx> --calib PATH --target-ratio R [options]\n$0 <command> [options]')
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces with errors' })
    .command(compressCommand)
    .command(inspectCommand)
    .command(profileCommand)
    .command(rewriteCommand)
    .strict()
    // yargs breaks some messages over lines; an error is one line.
    .fail((msg, err) => fail(err ?? ftmError('E_USAGE', `${msg.replace(/\s*\n\s*/g, ' ')} (see ftm-compress --help)`)))
    .help()
    .parseAsync();
}

main().catch(fail);
