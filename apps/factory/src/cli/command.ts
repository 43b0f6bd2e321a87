import type { ProgressSink } from './progress';

/** What a command may touch of the outside world; the CLI passes the process's, tests their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressSink;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
  /** Aborted on SIGINT/SIGTERM: long commands stop scheduling work and say how to resume. */
  readonly signal: AbortSignal;
}

export interface CliCommand {
  /** `['batch', 'create']`. */
  readonly path: readonly [string, string];
  readonly summary: string;
  readonly help: string;
  /** Resolves to the exit code. Throws FactoryError for refusals (USAGE exits 2, the rest 1). */
  run(argv: string[], io: CliIo): Promise<number>;
}
