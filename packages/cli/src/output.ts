// Output of read commands: a table for people (kubectl's layout: upper-case headers, columns
// separated by three spaces), JSON or YAML (YAML-1.1 safe) for programs.

import { stringifyYaml } from '@kubefork/controller/plan';
import type { OutputFormat } from './args.js';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** `data` as JSON (2-space indent) or YAML; `renderTable` for `table`. */
export function render(format: OutputFormat, data: unknown, renderTable: () => string): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'yaml') return stringifyYaml(data);
  return renderTable();
}

/** `2h5m` for a number of milliseconds (kubectl's AGE style, two units at most). */
export function humanDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const seconds = Math.floor(ms / 1000);
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return parts.join('') || '0s';
}
