import autocannon from 'autocannon';
import { median, ratio, type SuiteResult } from './harness.js';
import { startProcess, stopProcess } from './processes.js';

const SERVE = new URL('./servers/serve.ts', import.meta.url);

interface Measure {
  requestsPerSecond: number;
  p50: number;
  p99: number;
}

async function load(port: number, seconds: number): Promise<Measure> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/kaltura/ks`,
    connections: 50,
    pipelining: 1,
    duration: seconds,
    headers: { 'x-user': 'bench-user@example.com' },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`non-2xx or errors: ${result.non2xx}/${result.errors}`);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/**
 * 2. Middleware overhead: the KS route from a warm cache vs. a bare app answering
 * a same-size fixed JSON body, each server in its own process, autocannon in
 * this one, on loopback; rounds alternate.
 */
export async function runMiddlewareSuite({ seconds = 5, rounds = 3 } = {}): Promise<SuiteResult> {
  const rows: SuiteResult['rows'] = [];
  const targets: SuiteResult['targets'] = [];
  for (const framework of ['express', 'koa'] as const) {
    const ks = await startProcess<{ port: number }>(SERVE, [framework, 'ks']);
    const bare = await startProcess<{ port: number }>(SERVE, [framework, 'bare']);
    try {
      // Warm up both (JIT, the KS cache, keep-alive sockets).
      await load(ks.ready.port, 1);
      await load(bare.ready.port, 1);
      const a: Measure[] = [];
      const b: Measure[] = [];
      for (let r = 0; r < rounds; r++) {
        a.push(await load(ks.ready.port, seconds));
        b.push(await load(bare.ready.port, seconds));
      }
      const pick = (list: Measure[], key: keyof Measure) => median(list.map((m) => m[key]));
      const share = pick(a, 'requestsPerSecond') / pick(b, 'requestsPerSecond');
      rows.push({
        app: `${framework} + kalturaKs`,
        'req/s': Math.round(pick(a, 'requestsPerSecond')),
        'p50 ms': pick(a, 'p50'),
        'p99 ms': pick(a, 'p99'),
        'vs bare': ratio(share),
      });
      rows.push({
        app: `${framework}, bare fixed body`,
        'req/s': Math.round(pick(b, 'requestsPerSecond')),
        'p50 ms': pick(b, 'p50'),
        'p99 ms': pick(b, 'p99'),
        'vs bare': ratio(1),
      });
      targets.push({
        target: `${framework}: >= 0.9x the bare app's throughput`,
        met: share >= 0.9,
        detail: ratio(share),
      });
    } finally {
      await stopProcess(ks.child);
      await stopProcess(bare.child);
    }
  }
  return {
    suite: 'middleware',
    title: `Middleware overhead: KS route from a warm cache vs a bare app with a same-size body (autocannon, 50 connections, ${rounds} × ${seconds} s rounds, medians)`,
    rows,
    targets,
  };
}
