import { availableParallelism } from 'node:os';
import './ort-telemetry.js';
import * as ort from 'onnxruntime-node';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { encodeModel } from '../onnx/save.js';

// onnxruntime's process-wide logger (read when the first session starts) prints warnings and errors in colour on
// stderr; every failure reaches the user as an FtmError instead.
ort.env.logLevel = 'fatal';

/** A tensor going into or coming out of a run: data in row-major order and its dims. */
export interface TensorValue {
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  dims: readonly number[];
}

/** A float32 tensor, what models are fed with. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface RunnerOptions {
  /** Threads onnxruntime uses inside an operator (default: the machine's cores). */
  threads?: number;
  /**
   * Whether onnxruntime's threads spin, waiting for work, after each operator and after the run (default true, its
   * own default). Sessions that take turns in a loop should not: a finished session's spinning threads take the cores
   * from the next one, which made the fixture's distillation step much slower (measured: bench/distill-results.md).
   */
  spin?: boolean;
}

/**
 * A model on onnxruntime-node. The caller's model is encoded to bytes once and never touched again; failures of
 * onnxruntime become FtmError E_RUNTIME naming the model, so a caller never sees onnxruntime's own exceptions.
 */
export class Runner {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** How messages name the model: its file, or its graph's name. */
    readonly label: string,
  ) {}

  static async create(model: Model, options: RunnerOptions = {}): Promise<Runner> {
    const label = modelLabel(model);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw ftmError('E_USAGE', `expected threads to be a positive integer, found ${threads}`);
    const bytes = encodeModel(model);
    try {
      // One operator at a time, each spread over `threads`: CNN graphs are chains, so inter-op parallelism buys nothing.
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Fatal only: a failure reaches the user once, as our error; onnxruntime's own coloured line would come first.
        logSeverityLevel: 4,
        ...(options.spin === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      });
      return new Runner(session, label);
    } catch (e) {
      throw ftmError('E_RUNTIME', `onnxruntime cannot load the model: ${messageOf(e)}`, label);
    }
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model on `feeds` (float32, or float64 for the fitting's dense algebra); returns the outputs named in `fetch` (default: all of them). */
  async run(feeds: Record<string, FloatTensor | { data: Float64Array; dims: readonly number[] }>, fetch: readonly string[] = this.outputNames): Promise<Record<string, TensorValue>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = t.data instanceof Float64Array ? new ort.Tensor('float64', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(inputs, [...fetch]);
    } catch (e) {
      throw ftmError('E_RUNTIME', `onnxruntime failed to run the model: ${messageOf(e)}`, this.label);
    }
    const out: Record<string, TensorValue> = {};
    for (const [name, t] of Object.entries(results)) out[name] = { data: t.data as TensorValue['data'], dims: t.dims };
    return out;
  }

  /** Frees onnxruntime's memory for this model now, rather than when the garbage collector gets to it. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

function modelLabel(model: Model): string {
  return model.path ?? (model.graph.name ? `model "${model.graph.name}"` : 'model');
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
