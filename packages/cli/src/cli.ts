import type { CliIO, Command } from './command.js';
import { extendCommand } from './commands/extend.js';
import { forkCommand } from './commands/fork.js';
import { lsCommand } from './commands/ls.js';
import { manifestCommand } from './commands/manifest.js';
import { rmCommand } from './commands/rm.js';
import { statusCommand } from './commands/status.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.js';

/** Every command, by name. */
export const commands: Record<string, Command> = {
  fork: forkCommand,
  ls: lsCommand,
  status: statusCommand,
  extend: extendCommand,
  rm: rmCommand,
  manifest: manifestCommand,
};

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
    .join('\n');
  return `Usage: kubefork <command> [options]

A Fork is your virtual cluster: copies of the services you change, reached by requests that
carry your fork id; everything else stays shared.

Commands:
${list}

Run "kubefork <command> --help" for the options of a command.
Exit codes: 0 done, 1 failed, 2 wrong usage.
`;
}

/**
 * Runs `kubefork` with `argv` (without node and the script) and resolves to the exit code. Never
 * throws and never prints a stack trace: failures are one message on stderr.
 */
export async function main(argv: readonly string[], io: CliIO = process): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr.write(`kubefork: unknown command "${name}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof CliError) {
      const hint =
        error.exitCode === EXIT_USAGE ? `\nRun "kubefork ${name} --help" for usage.` : '';
      io.stderr.write(`kubefork ${name}: ${error.message}${hint}\n`);
      return error.exitCode;
    }
    io.stderr.write(`kubefork ${name}: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT_FAILED;
  }
}
