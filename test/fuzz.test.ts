import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuzzCase, FuzzOutcome } from './helpers/fuzz-child.js';
import { MUTATIONS } from './helpers/mutate.js';
import { requireDebianPath } from './helpers/python.js';

/**
 * Seeded mutants of real models (byte flips, cuts, protobuf fields removed, repeated, set or swapped at any depth),
 * each loaded, inspected, encoded and taken through intake: the tool must answer with a typed error or succeed, never
 * crash or hang.
 * FUZZ_CASES (mutants per corpus model, twice that of the fixture; default 50) and FUZZ_SEED explore further locally.
 */
const FIXTURE = 'fixtures/resnet20/model.onnx';
const CORPUS = '/usr/share/libonnx-testdata';
const corpusMissing = requireDebianPath(CORPUS, 'libonnx-testdata', existsSync(CORPUS));
/** Small corpus models that between them hold every attribute kind the corpus uses (graphs, tensors, a type, strings). */
const CORPUS_MODELS = [
  'node/test_conv_with_strides_padding',
  'node/test_if_opt',
  'node/test_constantofshape_float_ones',
  'node/test_loop11',
  'simple/test_strnorm_model_monday_casesensintive_lower',
  'node/test_scan9_sum',
].map((m) => join(CORPUS, 'data', m, 'model.onnx'));

const PER_FILE = Number(process.env.FUZZ_CASES ?? 50);
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 0);
/** Far above any case's time (milliseconds): it only tells a hang from a slow case. */
const HANG_MS = 20_000;

function cases(file: string, count: number): FuzzCase[] {
  return Array.from({ length: count }, (_, i) => ({ file, kind: MUTATIONS[i % MUTATIONS.length], seed: BASE_SEED + i }));
}

/** One child process runs the cases in turn; a case that does not answer in time is a hang, and the child is killed. */
class Fuzzer {
  private child!: ChildProcess;

  start(): void {
    this.child = fork(new URL('./helpers/fuzz-child.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  }

  stop(): void {
    this.child.kill();
  }

  run(c: FuzzCase): Promise<FuzzOutcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`hang: ${describeCase(c)} gave no answer in ${HANG_MS} ms`));
      }, HANG_MS);
      this.child.once('message', (outcome) => {
        clearTimeout(timer);
        resolve(outcome as FuzzOutcome);
      });
      this.child.send(c);
    });
  }

  /** Every case's outcome counted by code, and the cases that crashed. */
  async runAll(list: FuzzCase[]): Promise<{ counts: Record<string, number>; crashes: string[] }> {
    const counts: Record<string, number> = {};
    const crashes: string[] = [];
    for (const c of list) {
      const outcome = await this.run(c);
      if (outcome.startsWith('crash')) crashes.push(`${describeCase(c)}: ${outcome}`);
      else counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    console.log(`${list.length} mutants: ${JSON.stringify(counts)}`);
    return { counts, crashes };
  }
}

const describeCase = (c: FuzzCase) => `${c.file} ${c.kind} seed ${c.seed}`;

describe('fuzzed models: a typed error or success, never a crash or a hang', () => {
  const fuzzer = new Fuzzer();
  beforeAll(() => fuzzer.start());
  afterAll(() => fuzzer.stop());

  it('mutants of the fixture', async () => {
    const { counts, crashes } = await fuzzer.runAll(cases(FIXTURE, 2 * PER_FILE));
    expect(crashes).toEqual([]);
    // The mutants reach past the wire format: some still load, some break the schema, some are cut short.
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(['ok', 'E_MODEL_TRUNCATED', 'E_MODEL_NOT_ONNX', 'E_MODEL_INVALID']));
  });

  it.skipIf(corpusMissing)('mutants of small corpus models with every attribute kind', async () => {
    const { counts, crashes } = await fuzzer.runAll(CORPUS_MODELS.flatMap((f) => cases(f, PER_FILE)));
    expect(crashes).toEqual([]);
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(['ok', 'E_MODEL_TRUNCATED', 'E_MODEL_NOT_ONNX']));
  });
});
