// Polling the Fork until the controller has reported on its current spec (or until it is Ready,
// for --wait), printing per-service progress on stderr as it changes.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fork } from '@kubefork/controller/plan';
import type { CliIO } from './command.js';
import { CliError } from './errors.js';
import { getFork } from './fork-api.js';
import { forkIdOf, observed, readyCondition } from './fork-view.js';
import type { Target } from './kube.js';
import { humanDuration } from './output.js';
import { allReady, isPermanent, missing, type ServiceRow, serviceRows } from './service-rows.js';

const POLL_MS = 500;

/** The Fork once the controller has written a status for its spec, or the last one seen. */
export async function waitObserved(
  target: Target,
  name: string,
  timeoutMs: number,
): Promise<Fork | undefined> {
  const deadline = Date.now() + timeoutMs;
  let fork = await getFork(target, name);
  while (fork && !observed(fork) && Date.now() < deadline) {
    await sleep(POLL_MS);
    fork = await getFork(target, name);
  }
  return fork;
}

/** A CliError when the Fork (or one of its services) failed for a reason waiting cannot fix. */
export function permanentFailure(fork: Fork, rows: ServiceRow[]): CliError | undefined {
  if (!observed(fork)) return undefined;
  const condition = readyCondition(fork);
  const failed = rows.filter((row) => isPermanent(row.reason));
  if (failed.length > 0) {
    return new CliError(
      `${forkIdOf(fork)} is not Ready:\n${failed.map((row) => `  ${missing(row)}`).join('\n')}`,
    );
  }
  if (condition?.status === 'False' && isPermanent(condition.reason)) {
    return new CliError(
      `${forkIdOf(fork)} is not Ready: ${condition.reason}: ${condition.message ?? ''}`,
    );
  }
  return undefined;
}

function progressLine(row: ServiceRow): string {
  if (row.reason) return `  ${row.service}: ${row.reason}: ${row.message}`;
  return `  ${row.service}: copy ${row.copy}, ${row.readyReplicas}/${row.replicas} ready, route ${row.route}`;
}

/**
 * Polls until every service is copied, routed and has its replicas ready; throws a CliError that
 * names what is still missing at the timeout, or at once for a permanent failure.
 */
export async function waitReady(
  target: Target,
  name: string,
  timeoutMs: number,
  io: CliIO,
): Promise<Fork> {
  const deadline = Date.now() + timeoutMs;
  const printed = new Map<string, string>();
  for (;;) {
    const fork = await getFork(target, name);
    if (!fork) throw new CliError(`the Fork ${name} was deleted while waiting for it`);
    const rows = await serviceRows(target, fork);
    for (const row of rows) {
      const line = progressLine(row);
      if (printed.get(row.service) !== line) {
        printed.set(row.service, line);
        io.stderr.write(`${line}\n`);
      }
    }
    if (allReady(fork, rows)) return fork;
    const failure = permanentFailure(fork, rows);
    if (failure) throw failure;
    if (Date.now() >= deadline) {
      const lacking = rows.map(missing).filter((text) => text !== undefined);
      if (!observed(fork))
        lacking.unshift(
          'the controller has not reported on this Fork yet (is kubefork-controller running?)',
        );
      throw new CliError(
        `${forkIdOf(fork)} is not Ready after ${humanDuration(timeoutMs)}; still missing:\n${lacking.map((text) => `  ${text}`).join('\n')}`,
      );
    }
    await sleep(POLL_MS);
  }
}
