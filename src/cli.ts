#!/usr/bin/env node
/** Command line: parses arguments and calls the library; errors become one line and an exit code. */
import yargs, { type Arguments, type MiddlewareFunction } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FtmError, ftmError } from './errors.js';
import { compressCommand } from './commands/compress.js';
import { inspectCommand } from './commands/inspect.js';
import { profileCommand } from './commands/profile.js';
import { rewriteCommand } from './commands/rewrite.js';

const verbose = process.argv.includes('--verbose');

/**
 * Ctrl-C, or a CI job cancelled: one line and the shell's code for the signal (128 + its number), no stack. Outputs
 * are written together, synchronously, at the very end (src/output/transaction.ts): this handler runs before that
 * starts or after it ends, so an interrupted job leaves no partial file.
 */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
  process.on(signal, () => {
    // On a terminal a progress bar may hold the line and have hidden the cursor.
    process.stderr.write(`${process.stderr.isTTY ? '\n\x1b[?25h' : ''}ftm-compress: interrupted (${signal})\n`);
    process.exit(code);
  });
}

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

/** What yargs (passed to a middleware as its second argument; @types/yargs 17 leaves it out) says was declared. */
interface Declared {
  getOptions(): Record<'array' | 'string' | 'number' | 'boolean', string[]>;
}

/** yargs makes a list of an option given twice, which no single-valued option expects (`-o a -o b`): say so. */
function refuseRepeated(argv: Arguments, y: Declared): void {
  const declared = y.getOptions();
  const lists = new Set(declared.array);
  for (const key of [...declared.string, ...declared.number, ...declared.boolean]) {
    const value = argv[key];
    if (!lists.has(key) && Array.isArray(value)) {
      throw ftmError('E_USAGE', `--${key} was given ${value.length} times (${value.join(', ')}); give it once`);
    }
  }
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
    .middleware(refuseRepeated as unknown as MiddlewareFunction)
    // yargs breaks some messages over lines; an error is one line.
    .fail((msg, err) => fail(err ?? ftmError('E_USAGE', `${msg.replace(/\s*\n\s*/g, ' ')} (see ftm-compress --help)`)))
    .help()
    .parseAsync();
}

main().catch(fail);
