import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { renderTable, type SuiteResult } from './harness.js';
import { runKsSuite } from './ks.js';
import { runMemorySuite } from './memory.js';
import { runMiddlewareSuite } from './middleware.js';

const SUITES: Record<string, () => Promise<SuiteResult> | SuiteResult> = {
  ks: runKsSuite,
  middleware: () => runMiddlewareSuite({ seconds: Number(process.env.BENCH_SECONDS ?? 5) }),
  memory: runMemorySuite,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${process.platform} ${process.arch}`,
};
console.log(
  `kaltura-ks benchmarks — Node ${machine.node}, ${machine.cpu} × ${machine.cores}, ${machine.memoryGiB} GiB\n`,
);

const results: SuiteResult[] = [];
for (const name of names) {
  const suite = SUITES[name];
  if (suite === undefined)
    throw new Error(`unknown suite ${name}; known: ${Object.keys(SUITES).join(', ')}`);
  const result = await suite();
  results.push(result);
  console.log(`${result.title}\n\n${renderTable(result.rows)}\n`);
  for (const t of result.targets)
    console.log(`${t.met ? 'met ' : 'MISS'}  ${t.target}${t.detail ? ` (${t.detail})` : ''}`);
  for (const note of result.notes ?? []) console.log(`note  ${note}`);
  console.log('');
}

const out = new URL('../../../bench-results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('results.json', out),
  `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`,
);
console.log(`Results written to bench-results/results.json`);
