import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { renderCommand } from './render-command.js';
import { runCommand } from './run-command.js';

/** Where a command reads and writes; `process` in production, anything stream-like in tests. */
export interface CliIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A subcommand of `kubefork-controller`. `run` resolves to the process exit code. */
export interface Command {
  /** One line for the command list of `kubefork-controller --help`. */
  summary: string;
  /** The full `--help` text of the command. */
  usage: string;
  run(args: string[], io: CliIO): Promise<number>;
}

/** Every subcommand, by name. A new one (e.g. `run`) is one entry here plus its own file. */
export const commands: Record<string, Command> = {
  render: renderCommand,
  run: runCommand,
};

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
    .join('\n');
  return `Usage: kubefork-controller <command> [options]

Commands:
${list}

Run "kubefork-controller <command> --help" for the options of a command.
`;
}

/**
 * Runs `kubefork-controller` with `argv` (without node and the script) and resolves to the exit
 * code; never calls `process.exit`, so pending output is flushed and tests can call it in-process.
 */
export async function main(argv: readonly string[], io: CliIO = process): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr.write(`kubefork-controller: unknown command "${name}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  return command.run(args, io);
}
