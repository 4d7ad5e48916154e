// The exit codes of every `kubefork` command and the one error type that carries them. A command
// throws CliError with a message a user can act on; main() prints it (no stack trace) and exits.

/** Done. */
export const EXIT_OK = 0;
/** The command ran and failed (API error, timeout, a Fork that is not ready). */
export const EXIT_FAILED = 1;
/** Wrong usage: unknown command or option, missing or malformed argument. */
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILED) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A usage mistake: exit code 2, and main() points at `--help`. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}
