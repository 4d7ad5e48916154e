// The controller's setup mistakes read like every other kubefork package's:
// `kubefork: option "X" must be …; received …`, a `TypeError` with the code
// `ERR_KUBEFORK_INVALID_OPTION`, made by the SDK kernel's own `invalidOption` (the kernel has no
// dependencies, so the planner, `@kubefork/controller/plan`, can load it).
//
// `invalidOption` is for a mistake in what the caller passed (to `planHost`, `planFork`, `render`,
// `startController`), never for bad VSConfigs or Forks: those become `Invalid` results.
import { invalidOption } from '@kubefork/context/integration';

export { ERR_INVALID_OPTION, invalidOption } from '@kubefork/context/integration';

/**
 * Throws `invalidOption` for the first key of `options` that is not in `known`: a misspelt option
 * would otherwise silently keep its default. `path` prefixes the name, e.g. `leaderElection.`.
 */
export function checkKnownOptions(options: object, known: readonly string[], path = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidOption(
        `${path}${key}`,
        (options as Record<string, unknown>)[key],
        `one of: ${known.join(', ')} (unknown option)`,
      );
    }
  }
}
