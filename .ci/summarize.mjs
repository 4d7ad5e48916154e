// Sums vitest JSON reports (one per Node version) into the matrix line CI ends with.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const rows = [];
const failures = [];
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    rows.push(`${file}: unreadable report`);
    failed += 1;
    continue;
  }
  const label = file.replace(/^.*\/|\.json$/g, '');
  const p = report.numPassedTests ?? 0;
  // A file that failed to load has no failed tests but a failed suite: count it once.
  const f = report.numFailedTests || report.numFailedTestSuites || 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  rows.push(`${label}: ${p} passed, ${f} failed${skipped ? `, ${skipped} skipped` : ''}`);
  passed += p;
  failed += f;
  if (p === 0) failed += 1; // a Node that ran no test is a failure, not a pass
  // Name what failed, so the tail of a CI log says which test to look at.
  for (const suite of report.testResults ?? []) {
    const file = String(suite.name ?? '').replace(/^.*?\/(packages|test|examples|bench)\//, '$1/');
    const tests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests) {
      const why = String(t.failureMessages?.[0] ?? '')
        .split('\n')[0]
        .slice(0, 300);
      failures.push(`${label}: ${file} > ${t.fullName ?? t.title}\n    ${why}`);
    }
    if (tests.length === 0 && suite.status === 'failed') {
      failures.push(
        `${label}: ${file} failed to run\n    ${String(suite.message ?? '')
          .split('\n')[0]
          .slice(0, 300)}`,
      );
    }
  }
}
if (failures.length > 0) console.log(`failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
for (const row of rows) console.log(row);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
