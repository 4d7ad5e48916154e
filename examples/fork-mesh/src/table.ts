// The demo's one table: request × hop → the instance that served it.
import type { CaseVerdict, HopVerdict } from './judge.js';
import { SERVICES } from './topology.js';

function hopCell(hop: HopVerdict): string {
  if (hop.instance === undefined) return `✗ (want ${hop.expected})`;
  return hop.ok ? hop.instance : `✗ ${hop.instance} (want ${hop.expected})`;
}

function forkCell(verdict: CaseVerdict): string {
  const forks = verdict.hops.map((hop) => (hop.fork === undefined ? '?' : (hop.fork ?? '-')));
  // One value when every hop agrees (the normal case), else each hop's.
  return forks.every((fork) => fork === forks[0]) ? forks[0]! : forks.join(' ');
}

/** Lays out rows of cells as left-aligned columns, two spaces apart. */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table of the demo, one row per request; the last column says why it went there. */
export function verdictTable(verdicts: readonly CaseVerdict[]): string {
  const header = [
    'request',
    ...SERVICES.map((service) => `${service.name.toUpperCase()} ${service.integration}`),
    'fork',
    '',
    'why',
  ];
  const rows = verdicts.map((verdict) => [
    verdict.demoCase.label,
    ...verdict.hops.map(hopCell),
    forkCell(verdict),
    verdict.ok ? '✓' : '✗',
    verdict.demoCase.note,
  ]);
  return formatColumns([header, ...rows]);
}
