import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printGraph } from '../analysis/print-graph.js';
import { mulberry32 } from '../calib/random.js';
import { ftmError } from '../errors.js';
import { validateGraph } from '../graph/validate.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { loadModel } from '../onnx/load.js';
import { Runner, type FloatTensor } from '../runtime/session.js';
import { applyRules, type ApplyResult, type RewriteRecord } from './driver.js';
import type { AnyRule, LayerStats, MatchBase, Rule } from './rule.js';

/** A case's model: the model, a path to an .onnx file, or a function building it (called at each check). */
export type ModelSource = Model | string | (() => Model);

interface CaseBase<O> {
  /** What the case shows: the test's title. */
  name: string;
  model: ModelSource;
  options?: Partial<O>;
  /** Per-node statistics, as the profiler would give them (e.g. FTM's channel groups). */
  stats?: Record<string, LayerStats>;
  /** Nodes to try (default: every node of the rule's ops). */
  layers?: string[];
}

export interface FiresCase<O = Record<string, unknown>> extends CaseBase<O> {
  /** The nodes (node name, or first output for unnamed nodes) where the rule fires, in graph order: it fires nowhere else. */
  at: string[];
  /** File of the printed rewritten graph (`printGraph`), relative to the tester's `goldenDir`. */
  golden?: string;
  /** The rewritten model computes what `to` (default: the original) computes: the largest output difference,
   * relative to the largest reference output, is at most `tolerance` (0: bit for bit). Leave it out for rules that
   * change the function (pruning, low rank, FTM's data-free init on general weights). */
  equivalent?: { tolerance: number; to?: ModelSource };
  /** Feeds of the equivalence run; default: seeded uniform values in [-1, 1), each symbolic dim 2. */
  inputs?: Record<string, FloatTensor>;
  /** Further assertions on what the driver returned (the new weights by role, the fit plans, ...). */
  check?(result: ApplyResult): void | Promise<void>;
}

export interface DeclinesCase<O = Record<string, unknown>> extends CaseBase<O> {
  /** The node whose record says why; may be left out when the rule looks at one node only. */
  at?: string;
  /** `declined`: the rule said no; `refused`: the driver did (a shared or overridable constant). Default `declined`. */
  status?: 'declined' | 'refused';
  /** The reason recorded: the exact text, or a pattern it must match. */
  reason: string | RegExp;
}

export interface RuleTestCases<O> {
  fires?: FiresCase<O>[];
  declines?: DeclinesCase<O>[];
}

export interface RuleTesterOptions {
  /** Folder of the golden files (a path or a `file:` URL, e.g. `new URL('./__golden__/', import.meta.url)`). */
  goldenDir?: string | URL;
  /** Seed of the generated inputs (default 0). */
  seed?: number;
}

type Describe = (name: string, body: () => void) => void;
type It = (name: string, body: () => Promise<void>) => void;

/**
 * Tests a rule through the real driver, as ESLint's RuleTester tests a lint rule. A `fires` case checks that the rule
 * fires exactly at the given nodes, that the result is a valid graph onnxruntime loads, that it prints as its golden
 * file (`UPDATE=1` rewrites the file, never when `CI=true`), and, when the case claims it, that it computes the same
 * outputs on onnxruntime. A `declines` case checks that the rule fires nowhere and records the expected reason.
 *
 * `run` registers one test per case with the test runner's `describe`/`it`: assign them to `RuleTester.describe` and
 * `RuleTester.it` (globals of the same names are used otherwise). `fires` and `declines` are the plain async checks.
 */
export class RuleTester {
  static describe: Describe | undefined;
  static it: It | undefined;

  private readonly goldenDir?: string;
  private readonly seed: number;

  constructor(options: RuleTesterOptions = {}) {
    const dir = options.goldenDir;
    this.goldenDir = dir instanceof URL || dir?.startsWith('file:') ? fileURLToPath(dir) : dir;
    this.seed = options.seed ?? 0;
  }

  run<M extends MatchBase, O extends object>(rule: Rule<M, O>, cases: RuleTestCases<O>): void {
    const describe = hook<Describe>('describe');
    const it = hook<It>('it');
    describe(rule.name, () => {
      for (const c of cases.fires ?? []) it(`fires: ${c.name}`, async () => void (await this.fires(rule, c)));
      for (const c of cases.declines ?? []) it(`declines: ${c.name}`, async () => void (await this.declines(rule, c)));
    });
  }

  /** Checks one `fires` case; returns the driver's result. Throws an AssertionError saying what differs. */
  async fires<M extends MatchBase, O extends object>(rule: Rule<M, O>, c: FiresCase<O>): Promise<ApplyResult> {
    const what = `rule "${rule.name}", case "${c.name}"`;
    const model = build(c.model);
    const result = apply(rule, model, c);
    assert.deepEqual(fired(result.records), c.at, `${what}: fired at other nodes than expected (records: ${describeRecords(result.records)})`);
    const problems = validateGraph(result.model.graph);
    assert.deepEqual(problems, [], `${what}: the rewritten graph is not valid`);
    if (c.golden) this.checkGolden(c.golden, printGraph(result.model.graph), what);
    if (c.equivalent) {
      const feeds = c.inputs ?? this.randomInputs(model);
      const reference = c.equivalent.to ? build(c.equivalent.to) : model;
      checkEquivalent(await runModel(result.model, feeds, what), await runModel(reference, feeds, what), c.equivalent.tolerance, what);
    } else {
      await runModel(result.model, undefined, what);
    }
    await c.check?.(result);
    return result;
  }

  /** Checks one `declines` case; returns the driver's result. Throws an AssertionError saying what differs. */
  async declines<M extends MatchBase, O extends object>(rule: Rule<M, O>, c: DeclinesCase<O>): Promise<ApplyResult> {
    const what = `rule "${rule.name}", case "${c.name}"`;
    const result = apply(rule, build(c.model), c);
    assert.deepEqual(fired(result.records), [], `${what}: the rule fired, expected it to decline`);
    const candidates = result.records.filter((r) => (c.at ? r.node === c.at : r.status !== 'skipped'));
    assert.equal(candidates.length, 1, `${what}: expected one record${c.at ? ` at "${c.at}"` : ' (give `at` when the rule looks at several nodes)'}, found: ${describeRecords(result.records)}`);
    const [record] = candidates;
    assert.equal(record.status, c.status ?? 'declined', `${what}: wrong status at "${record.node}" (reason: ${record.reason})`);
    if (typeof c.reason === 'string') assert.equal(record.reason, c.reason, `${what}: wrong reason at "${record.node}"`);
    else assert.match(record.reason ?? '', c.reason, `${what}: wrong reason at "${record.node}"`);
    return result;
  }

  private checkGolden(file: string, actual: string, what: string): void {
    const path = isAbsolute(file) || !this.goldenDir ? file : join(this.goldenDir, file);
    if (process.env.UPDATE === '1' && process.env.CI !== 'true') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, actual);
      return;
    }
    if (!existsSync(path)) assert.fail(`${what}: golden file ${path} is missing (run the test with UPDATE=1 to create it, then review it)`);
    assert.equal(actual, readFileSync(path, 'utf8'), `${what}: the printed graph differs from ${path} (UPDATE=1 rewrites it; review the diff)`);
  }

  /** One float32 feed per graph input, uniform in [-1, 1), symbolic dims set to 2. */
  private randomInputs(model: Model): Record<string, FloatTensor> {
    const random = mulberry32(this.seed);
    const feeds: Record<string, FloatTensor> = {};
    for (const v of model.graph.inputs.filter((v) => !v.initializer)) {
      if (v.elemType !== DataType.FLOAT || !v.shape) throw ftmError('E_USAGE', `RuleTester generates float inputs of known rank only: give the case's inputs`, v.name);
      const dims = v.shape.map((d) => (typeof d === 'number' ? d : 2));
      feeds[v.name] = { data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1), dims };
    }
    return feeds;
  }
}

function hook<T>(name: 'describe' | 'it'): T {
  const fn = RuleTester[name] ?? (globalThis as Record<string, unknown>)[name];
  if (typeof fn !== 'function') {
    throw ftmError('E_USAGE', `RuleTester.${name} is not set: assign your test runner's (RuleTester.${name} = ${name}), or call tester.fires/declines yourself`);
  }
  return fn as T;
}

const build = (source: ModelSource): Model => (typeof source === 'function' ? source() : typeof source === 'string' ? loadModel(source) : source);

const fired = (records: RewriteRecord[]) => records.filter((r) => r.status === 'fired').map((r) => r.node);

const describeRecords = (records: RewriteRecord[]) => records.map((r) => `${r.node} ${r.status}${r.reason ? ` (${r.reason})` : ''}`).join('; ') || 'none';

/** Applies the rule alone with the case's settings. */
function apply<O>(rule: AnyRule, model: Model, c: CaseBase<O>): ApplyResult {
  return applyRules(model, [rule], { layers: c.layers, stats: c.stats, options: c.options ? { [rule.name]: c.options as Record<string, unknown> } : {} });
}

/** Loads the model on onnxruntime (failing the case when it cannot) and runs it on `feeds`, if given. */
async function runModel(model: Model, feeds: Record<string, FloatTensor> | undefined, what: string): Promise<Outputs> {
  let runner: Runner;
  try {
    runner = await Runner.create(model, { threads: 1 });
  } catch (e) {
    return assert.fail(`${what}: onnxruntime cannot load the model: ${(e as Error).message}`);
  }
  try {
    return feeds ? ((await runner.run(feeds)) as Outputs) : {};
  } finally {
    await runner.release();
  }
}

type Outputs = Record<string, { data: ArrayLike<number>; dims: readonly number[] }>;

/** Each reference output, by name: same dims, and max |got − want| ≤ tolerance · max |want|. */
function checkEquivalent(got: Outputs, want: Outputs, tolerance: number, what: string): void {
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    assert.ok(g, `${what}: the rewritten model has no output "${name}"`);
    assert.deepEqual([...g.dims], [...w.dims], `${what}: output "${name}" has other dims`);
    let diff = 0, scale = 0;
    for (let i = 0; i < w.data.length; i++) {
      diff = Math.max(diff, Math.abs(g.data[i] - w.data[i]));
      scale = Math.max(scale, Math.abs(w.data[i]));
    }
    const error = diff / (scale || 1);
    assert.ok(error <= tolerance, `${what}: output "${name}" differs from the reference by ${error.toExponential(3)} (max difference relative to the largest reference value), tolerance ${tolerance}`);
  }
}
