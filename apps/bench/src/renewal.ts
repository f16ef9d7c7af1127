import { existsSync, readFileSync } from 'node:fs';
import type { SuiteResult } from './harness.js';

const FILE = new URL('../../../bench-results/renewal-traffic.json', import.meta.url);

/**
 * 6. Renewal traffic with 1, 2 and 5 tabs, as the real-browser suite measured it
 * (`pnpm test:browser` writes the file; launching Chromium from here is not cheap).
 */
export function runRenewalSuite(): SuiteResult {
  const title = 'Renewal traffic in Chromium with 1, 2 and 5 tabs (from pnpm test:browser)';
  if (!existsSync(FILE)) {
    return {
      suite: 'renewal',
      title,
      rows: [{ measure: 'bench-results/renewal-traffic.json', value: 'absent' }],
      targets: [],
      notes: [
        'Run `pnpm test:browser` first: it measures renewal traffic in Chromium and writes the file.',
      ],
    };
  }
  const data = JSON.parse(readFileSync(FILE, 'utf8')) as unknown;
  return { suite: 'renewal', title, ...fromFile(data) };
}

interface RenewalFile {
  date?: string;
  machine?: { chromium?: string };
  results?: Array<{
    rows?: Array<Record<string, unknown>>;
    targets?: SuiteResult['targets'];
    notes?: string[];
  }>;
}

function fromFile(data: unknown): Omit<SuiteResult, 'suite' | 'title'> {
  const file = data as RenewalFile;
  const result = file.results?.[0];
  const rows = (result?.rows ?? []).map((row) => ({
    case: String(row.case ?? ''),
    renewals: Number(row.renewals ?? 0),
    'requests to /kaltura/ks': Number(row.requests ?? 0),
    'requests/renewal': Number(row['requests/renewal'] ?? 0),
    mints: Number(row.mints ?? 0),
  }));
  return {
    rows,
    targets: result?.targets ?? [],
    notes: [
      `Measured ${file.date ?? 'at an unknown date'} in Chromium ${file.machine?.chromium ?? '?'}; rerun with \`pnpm test:browser\`.`,
      ...(result?.notes ?? []),
    ],
  };
}
