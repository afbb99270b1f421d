/**
 * Every error ftm-compress raises on purpose. One factory, stable codes: the CLI maps a code to one line and an exit
 * code, CI pipelines match on the code, and tests assert on it. A message says what was expected and what was found,
 * and names the file or node it is about.
 */

export const ERROR_CODES = {
  // Input files
  E_FILE_NOT_FOUND: 10,
  E_FILE_IS_DIRECTORY: 11,
  E_FILE_EMPTY: 12,
  E_FILE_UNREADABLE: 13,
  E_MODEL_TRUNCATED: 14,
  E_MODEL_NOT_ONNX: 15,
  E_MODEL_NO_GRAPH: 16,
  E_EXTERNAL_DATA: 17,
  E_MODEL_INVALID: 18,
  // Output files
  E_OUTPUT_IS_INPUT: 21,
  E_OUTPUT_UNWRITABLE: 22,
  // Graph structure
  E_GRAPH_CYCLE: 30,
  E_GRAPH_INVALID: 31,
  E_NAME_TAKEN: 32,
  E_TENSOR: 33,
  // Usage: the caller's wrong input (arguments, options), never a broken internal contract (that is E_RULE)
  E_USAGE: 40,
  // Calibration data
  E_CALIB_NOT_FOUND: 50,
  E_CALIB_EMPTY: 51,
  E_CALIB_BAD_FILE: 52,
  E_CALIB_SHAPE: 53,
  E_PREPROCESS: 54,
  // Model features the tool does not handle
  E_UNSUPPORTED: 60,
  E_RUNTIME: 61,
  // Rewrites and planning. E_RULE: a rule broke its contract (invalid graph, params or statistics its fit plan does not match)
  E_RULE: 70,
  E_TARGET_UNREACHABLE: 71,
  // The compressed model's held-out outputs are NaN or infinite: refused, nothing written
  E_FIT_UNSTABLE: 72,
  // Quality gates (--max-output-error, --min-agreement)
  E_GATE_FAILED: 80,
  // A gate asked for with fewer held-out samples than it takes to judge by (MIN_RELIABLE_SAMPLES)
  E_GATE_TOO_FEW_SAMPLES: 81,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class FtmError extends Error {
  readonly code: ErrorCode;
  /** The file or graph element the error is about, when there is one. */
  readonly where?: string;

  constructor(code: ErrorCode, message: string, where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'FtmError';
    this.code = code;
    this.where = where;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

export function ftmError(code: ErrorCode, message: string, where?: string): FtmError {
  return new FtmError(code, message, where);
}

export function isFtmError(e: unknown, code?: ErrorCode): e is FtmError {
  return e instanceof FtmError && (code === undefined || e.code === code);
}
