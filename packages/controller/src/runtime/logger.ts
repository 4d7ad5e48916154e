// Structured logging without a logging library: the controller logs a handful of lines per
// reconcile at most, never per request. `console` satisfies `Logger`, and so do most loggers.

import { apiMessage, statusCode } from './api-status.js';

/** Where the controller writes what it does. `console` fits; so do pino-like loggers via a shim. */
export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * A logger that writes one JSON object per line (`{"level","time","msg",...details}`) to
 * `stream` (default stderr) for the levels at or above `level` (default `info`).
 *
 * @example
 * const logger = createJsonLogger({ level: 'debug' });
 * logger.info('reconciled', { key: 'shop/cart' });
 */
export function createJsonLogger(
  options: { level?: LogLevel; stream?: { write(line: string): unknown } } = {},
): Logger {
  const { level = 'info', stream = process.stderr } = options;
  const threshold = RANK[level];
  const write = (
    at: Exclude<LogLevel, 'silent'>,
    message: string,
    details?: Record<string, unknown>,
  ) => {
    if (RANK[at] < threshold) return;
    const line = { level: at, time: new Date().toISOString(), msg: message, ...serialize(details) };
    stream.write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (message, details) => write('debug', message, details),
    info: (message, details) => write('info', message, details),
    warn: (message, details) => write('warn', message, details),
    error: (message, details) => write('error', message, details),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Errors do not survive JSON.stringify; keep their message and status code. */
function serialize(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    out[key] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}

/** A short, single-line description of an error from client-node or from the network. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = statusCode(error);
  const first = error.message.split('\n')[0] ?? '';
  return code === undefined
    ? `${error.name}: ${first}`
    : `HTTP ${code}: ${apiMessage(error) ?? first}`;
}
