/**
 * Errors of the benchmark. Each has a stable code; the CLI prints `message` (which names the flag or
 * file at fault) and exits 2 for usage errors, 1 for run failures.
 */
export type BenchErrorCode =
  | 'BAD_OPTION' // a flag with a bad value or a combination that cannot run; `option` names it
  | 'BAD_DATASET' // --dataset file unreadable or not in ShareGPT format
  | 'UNKNOWN_SCENARIO'
  | 'SCENARIO_FAILED' // a scenario's simulator or gateway did not start or stopped early
  | 'TARGET_FAILED'; // the initial test request to a target failed (nothing would be measured)

export class BenchError extends Error {
  readonly code: BenchErrorCode;
  /** The CLI flag at fault (`--request-rate`), when there is one. */
  readonly option: string | undefined;

  constructor(code: BenchErrorCode, message: string, option?: string) {
    super(message);
    this.name = 'BenchError';
    this.code = code;
    this.option = option;
  }

  /** True for errors in how the command was called (exit 2), false for failures while running. */
  get isUsage(): boolean {
    return this.code === 'BAD_OPTION' || this.code === 'BAD_DATASET' || this.code === 'UNKNOWN_SCENARIO';
  }
}

/** Shorthand for a flag error: `badOption('--num-prompts', 'must be a positive integer, got "x"')`. */
export function badOption(option: string, problem: string): BenchError {
  return new BenchError('BAD_OPTION', `${option} ${problem}`, option);
}
