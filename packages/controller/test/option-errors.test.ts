// One option-error format across kubefork: `kubefork: option "X" must be …; received …`, a
// TypeError with the code ERR_KUBEFORK_INVALID_OPTION. The controller uses the SDK kernel's
// `invalidOption` and fork-id defaults (src/errors.ts, src/fork-id-rules.ts); the tests below fail
// if it grows a copy again, or a package throws an option error in the old format.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as context from '@kubefork/context';
import { invalidOption as contextInvalidOption } from '@kubefork/context/integration';
import { describe, expect, it } from 'vitest';
import { invalidOption } from '../src/errors.js';
import * as rules from '../src/fork-id-rules.js';
import { planFork, planHost, render } from '../src/plan.js';

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the controller and the SDK kernel', () => {
  it('throw option errors with the same invalidOption', () => {
    expect(invalidOption).toBe(contextInvalidOption);
    const error = invalidOption('leaderElection.identity', '', 'a non-empty string');
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      'kubefork: option "leaderElection.identity" must be a non-empty string; received ""',
    );
    expect((error as TypeError & { code: string }).code).toBe('ERR_KUBEFORK_INVALID_OPTION');
  });

  it('use the same fork-id defaults', () => {
    expect(rules.DEFAULT_HEADER).toBe(context.DEFAULT_HEADER);
    expect(rules.DEFAULT_MAX_LENGTH).toBe(context.DEFAULT_MAX_LENGTH);
    expect(rules.DEFAULT_FORK_ID_PATTERN).toBe(context.DEFAULT_FORK_ID_PATTERN);
  });

  it('accepts and refuses fork ids exactly as isValidForkId does', () => {
    const ids = [
      'alice',
      'a',
      'A.b_c-d',
      '-a',
      '.a',
      'a b',
      'é',
      '',
      'a'.repeat(63),
      'a'.repeat(64),
    ];
    for (const id of ids) {
      const ours = id.length <= rules.DEFAULT_MAX_LENGTH && rules.DEFAULT_FORK_ID_PATTERN.test(id);
      expect(ours, id).toBe(context.isValidForkId(id));
    }
  });
});

describe('option errors of the planner', () => {
  const shape = (option: string) =>
    new RegExp(`^kubefork: option "${option.replaceAll('.', '\\.')}" must be .+; received .+$`);

  it.each<[string, () => unknown, string]>([
    ['planHost', () => planHost({ namespace: 'Shop', host: 'cart', vsconfigs: [] }), 'namespace'],
    ['planFork', () => planFork({ fork: null } as never), 'fork'],
    ['render', () => render([], { clusterDomain: '.local' }), 'clusterDomain'],
  ])('%s throws the one format with its code', (_name, call, option) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(shape(option));
    try {
      call();
    } catch (error) {
      expect((error as { code?: unknown }).code).toBe('ERR_KUBEFORK_INVALID_OPTION');
    }
  });
});

/** `kubefork: X must be …` in a source line: an option error in the old format. */
const OLD_FORMAT = /kubefork: (?!option ")[^'"`\n]*?\bmust be\b/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('every package', () => {
  it('the guard recognises the old format and lets the new one pass', () => {
    const $ = '$'; // source text as it reads in a file, placeholders included
    expect(`\`kubefork: ${$}{option} must be ${$}{expected}; received ${$}{x}\``).toMatch(
      OLD_FORMAT,
    );
    expect("'kubefork: resync must be one of: kubeConfig'").toMatch(OLD_FORMAT);
    expect(`\`kubefork: option "${$}{option}" must be ${$}{expected}\``).not.toMatch(OLD_FORMAT);
    expect("'kubefork: the kubeconfig has no current cluster'").not.toMatch(OLD_FORMAT);
  });

  it('throws option errors only in the format kubefork: option "X" must be …', () => {
    const files = readdirSync(packages).flatMap((name) => {
      try {
        return sourceFiles(join(packages, name, 'src'));
      } catch {
        return []; // a package without src/
      }
    });
    expect(files.length).toBeGreaterThan(50);
    const old = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, index) => ({ at: `${file.slice(packages.length + 1)}:${index + 1}`, line }))
        .filter(({ line }) => OLD_FORMAT.test(line)),
    );
    expect(old).toEqual([]);
  });
});
