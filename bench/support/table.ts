// Shared output for micro-benchmarks: one markdown table, ratios against the baseline row.

export interface Row {
  name: string;
  /** One value per round, in ns/op. */
  samples: number[];
  /** Target in ns/op, when the issue sets one. */
  target?: number | undefined;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const ns = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

/** Prints a markdown table: median ns/op, min–max over rounds, ratio to baseline, target. */
export function printTable(input: { title: string; baseline: Row; rows: Row[] }): string {
  const base = median(input.baseline.samples);
  const lines = [
    `#### ${input.title}`,
    '',
    '| case | ns/op (median) | min–max | × baseline | target | met |',
    '|---|---:|---:|---:|---:|:---:|',
  ];
  for (const row of [input.baseline, ...input.rows]) {
    const value = median(row.samples);
    const range = `${ns(Math.min(...row.samples))}–${ns(Math.max(...row.samples))}`;
    const target = row.target === undefined ? '' : `< ${row.target}`;
    const met = row.target === undefined ? '' : value < row.target ? 'yes' : 'NO';
    lines.push(
      `| ${row.name} | ${ns(value)} | ${range} | ${(value / base).toFixed(1)} | ${target} | ${met} |`,
    );
  }
  const text = lines.join('\n');
  console.log(text);
  return text;
}
