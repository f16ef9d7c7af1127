import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { runBundleSuite } from './bundle.js';
import { runFleetSuite } from './fleet.js';
import { renderTable, type SuiteResult } from './harness.js';
import { runKsSuite } from './ks.js';
import { runMemorySuite } from './memory.js';
import {
  FRAMEWORKS,
  type Framework,
  runBeforeAfterSuite,
  runMiddlewareSuite,
} from './middleware.js';
import { runRenewalSuite } from './renewal.js';
import { runSoakSuite } from './soak.js';
import { runStormSuite } from './storm.js';

/** The suites, numbered as issue 7 lists them (fleet: issue 9). `pnpm bench storm fleet` runs some. */
const SUITES: Record<string, () => Promise<SuiteResult> | SuiteResult> = {
  ks: runKsSuite,
  middleware: () =>
    runMiddlewareSuite({
      seconds: Number(process.env.BENCH_SECONDS ?? 0.25),
      rounds: Number(process.env.BENCH_ROUNDS ?? 40),
      // e.g. BENCH_FRAMEWORKS=koa,hono
      frameworks: (process.env.BENCH_FRAMEWORKS?.split(',') ?? FRAMEWORKS) as Framework[],
    }),
  storm: () => runStormSuite({ profileDir: process.env.BENCH_STORM_PROF }),
  // Not in the default run: two checkouts to compare (see BENCHMARKS.md, middleware).
  engine: () => {
    const { BENCH_BEFORE: before, BENCH_AFTER: after } = process.env;
    if (!before || !after)
      throw new Error('the engine suite needs BENCH_BEFORE and BENCH_AFTER (two checkouts)');
    return runBeforeAfterSuite({
      before,
      after,
      seconds: Number(process.env.BENCH_SECONDS ?? 0.25),
      rounds: Number(process.env.BENCH_ROUNDS ?? 40),
      frameworks: (process.env.BENCH_FRAMEWORKS?.split(',') ?? ['express', 'koa']) as Framework[],
      variant: process.env.BENCH_VARIANT === 'ks-jwt' ? 'ks-jwt' : 'ks',
    });
  },
  memory: runMemorySuite,
  bundle: runBundleSuite,
  renewal: runRenewalSuite,
  fleet: () => runFleetSuite(),
  soak: () => runSoakSuite({ seconds: Number(process.env.BENCH_SOAK_SECONDS ?? 60) }),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(SUITES).filter((name) => name !== 'engine');
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${process.platform} ${process.arch} ${release()}`,
};
console.log(
  `kaltura-ks benchmarks — Node ${machine.node}, ${machine.cpu} × ${machine.cores}, ${machine.memoryGiB} GiB\n`,
);

const unknown = names.filter((name) => SUITES[name] === undefined);
if (unknown.length > 0)
  throw new Error(`unknown suite ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);

const out = new URL('../../../bench-results/', import.meta.url);
mkdirSync(out, { recursive: true });
const write = (file: string, data: unknown) =>
  writeFileSync(new URL(file, out), `${JSON.stringify(data, null, 2)}\n`);

type Ran = SuiteResult & { seconds: number; loadAverage: { before: number; after: number } };
const results: Ran[] = [];
for (const name of names) {
  // Other work on the machine skews every figure: the 1-minute load average is kept with each.
  const before = loadavg()[0]!;
  const started = performance.now();
  const result: Ran = {
    ...(await SUITES[name]!()),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    loadAverage: { before, after: loadavg()[0]! },
  };
  results.push(result);
  write(`${result.suite}.json`, { date: new Date().toISOString(), machine, ...result });
  console.log(`${result.title}\n\n${renderTable(result.rows)}\n`);
  for (const t of result.targets)
    console.log(`${t.met ? 'met ' : 'MISS'}  ${t.target}${t.detail ? ` (${t.detail})` : ''}`);
  for (const note of result.notes ?? []) console.log(`note  ${note}`);
  console.log(
    `took  ${result.seconds} s; 1-minute load average ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after (${machine.cores} cores)\n`,
  );
}

write('results.json', { date: new Date().toISOString(), machine, results });
const missed = results.flatMap((r) =>
  r.targets.filter((t) => !t.met).map((t) => `${r.suite}: ${t.target}`),
);
console.log(`Results written to bench-results/results.json and bench-results/<suite>.json`);
console.log(missed.length === 0 ? 'All targets met.' : `Missed:\n  ${missed.join('\n  ')}`);
