// The shape of a `kubefork` command: one file per command under commands/, one entry in cli.ts.

/** Where a command reads and writes; `process` in production. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Command {
  /** One line for `kubefork --help`. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Resolves to the exit code; throws CliError for failures a user can act on. */
  run(args: string[], io: CliIO): Promise<number>;
}
