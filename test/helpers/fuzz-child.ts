/**
 * Runs in a child process for test/fuzz.test.ts, so a mutant that hangs the decoder can be killed: for each case it
 * builds the mutant, loads, inspects and encodes it, inspects it again after intake (as `inspect` does), and reports
 * what happened.
 */
import { readFileSync } from 'node:fs';
import { encodeModel, FtmError, inspectModel, loadModel } from '../../src/index.js';
import { intakeModel } from '../../src/intake/intake.js';
import { Mutator, type Mutation } from './mutate.js';

export interface FuzzCase {
  file: string;
  kind: Mutation;
  seed: number;
}

/** `ok`, an FtmError's code, or `crash: <message>` for anything else. */
export type FuzzOutcome = string;

const mutators = new Map<string, Mutator>();

function run(c: FuzzCase): FuzzOutcome {
  let mutator = mutators.get(c.file);
  if (!mutator) mutators.set(c.file, (mutator = new Mutator(new Uint8Array(readFileSync(c.file)))));
  const bytes = mutator.mutant(c.kind, c.seed);
  try {
    const model = loadModel(bytes);
    inspectModel(model);
    encodeModel(model);
    inspectModel(intakeModel(model).model);
    return 'ok';
  } catch (e) {
    return e instanceof FtmError ? e.code : `crash: ${(e as Error)?.stack ?? String(e)}`;
  }
}

process.on('message', (c: FuzzCase) => process.send!(run(c)));
