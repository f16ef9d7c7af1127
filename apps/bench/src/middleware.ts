import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { SignJWT } from 'jose';
import { median, ratio, type SuiteResult } from './harness.js';
import { type PipelinedLoad, pipelinedLoad } from './pipelined-load.js';
import { canPin, cpuUsage, pinSelf, startProcess, stopProcess } from './processes.js';
import {
  BENCH_USER,
  JWT_AUDIENCE,
  JWT_COOKIE,
  JWT_ISSUER,
  JWT_SECRET,
} from './servers/serve-constants.js';

const SERVE = new URL('./servers/serve.ts', import.meta.url);
export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono', 'fetch'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/** Enough requests in flight that the server always has the next one queued. */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 4);
/** `control` is a second process of the bare app: bare against bare shows the suite's own noise. */
const VARIANTS = ['bare', 'control', 'bare-user', 'ks', 'hand', 'ks-jwt'] as const;
type Variant = (typeof VARIANTS)[number];

const LABEL: Record<Variant, string> = {
  bare: 'bare app, fixed same-size body',
  control: 'control: the bare app again (another process)',
  'bare-user': 'bare app reading the user header',
  ks: '+ kalturaKs (user from a header)',
  hand: 'hand-rolled: jose JWT cookie + Map',
  'ks-jwt': '+ kalturaKs, jwtUser cookie',
};

interface Measure {
  requestsPerSecond: number;
  /** Server CPU time per request, µs. */
  cpuPerRequest: number;
  /** The server's CPU time over the round's wall time: near 1 when the load kept it busy. */
  busy: number;
}

interface Server {
  child: ChildProcess;
  port: number;
  load: PipelinedLoad;
}

async function measure(server: Server, seconds: number): Promise<Measure> {
  const before = await cpuUsage(server.child);
  const started = performance.now();
  const answered = await server.load.run(seconds);
  const wallUs = (performance.now() - started) * 1000;
  const cpu = (await cpuUsage(server.child)) - before;
  return {
    requestsPerSecond: answered / (wallUs / 1e6),
    cpuPerRequest: cpu / answered,
    busy: cpu / wallUs,
  };
}

async function serve(entry: URL, args: string[], headers: Record<string, string>): Promise<Server> {
  const { child, ready } = await startProcess<{ port: number }>(entry, args, {
    cpus: '1',
    ipc: true,
  });
  const load = await pipelinedLoad({
    port: ready.port,
    path: '/kaltura/ks',
    headers,
    connections: CONNECTIONS,
    depth: DEPTH,
  });
  return { child, port: ready.port, load };
}

async function stop(server: Server): Promise<void> {
  server.load.close();
  await stopProcess(server.child);
}

/** `lo–hi` of a list, two decimals. */
function range(values: number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

/**
 * A 95% confidence interval of the median of a list of independent rounds (order statistics:
 * the rank-k and rank-(n-1-k) values, with k from the binomial's normal approximation), two
 * decimals; the whole range below 6 rounds.
 */
function medianInterval(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const k = Math.max(0, Math.floor((n - 1.96 * Math.sqrt(n)) / 2));
  return `${sorted[k]!.toFixed(2)}–${sorted[n - 1 - k]!.toFixed(2)}`;
}

/**
 * The servers' order in round `round`: shuffled (the same each run), so that no server is
 * always measured first, last, or right after the same other one. Rotating a fixed order
 * kept each server's predecessor: the control, always measured right after the bare app,
 * read 1.05× of it in two runs (intervals 1.02–1.13 and 1.03–1.08).
 */
function shuffled<T>(items: readonly T[], round: number): T[] {
  const order = [...items];
  let seed = (round + 1) * 0x9e3779b1;
  for (let i = order.length - 1; i > 0; i--) {
    seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Every server gets the same request: the user in a header, and in a signed JWT cookie. */
async function requestHeaders(): Promise<Record<string, string>> {
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(BENCH_USER)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(JWT_SECRET));
  return { 'x-user': BENCH_USER, cookie: `${JWT_COOKIE}=${jwt}` };
}

/**
 * 2. Middleware overhead: the KS route from a warm cache against two baselines, each
 * server in its own process pinned to core 1 (when `taskset` is there), the load from this
 * process pinned to core 0, rounds alternating:
 * - a bare app answering a same-size fixed JSON body (no user, no KS: the floor), and the
 *   same app reading the user header first (what reading a header costs in the framework:
 *   nothing in Express, Koa or Fastify, whose Node request has its headers parsed; a
 *   `Headers` object built per request in Hono on Node);
 * - a hand-rolled route that verifies the same JWT cookie with jose and serves a KS
 *   from a Map (what an app would write without kaltura-ks), against kaltura-ks with
 *   `jwtUser` reading that cookie.
 * What is judged is each server's CPU time per request (process.cpuUsage over IPC) with the
 * server kept saturated by a pipelined load (see pipelined-load.ts): the throughput it would
 * reach with a core to itself. A second process of the bare app is the control.
 */
export async function runMiddlewareSuite({
  // Short rounds, many of them: a pair of rounds sees the same machine, and the median has
  // a narrow confidence interval.
  seconds = 0.25,
  rounds = 40,
  frameworks = FRAMEWORKS as readonly Framework[],
} = {}): Promise<SuiteResult> {
  const rows: SuiteResult['rows'] = [];
  const targets: SuiteResult['targets'] = [];
  const pinned = canPin() && pinSelf('0');
  const headers = await requestHeaders();
  try {
    for (const framework of frameworks) {
      const servers = new Map<Variant, Server>();
      try {
        for (const variant of VARIANTS)
          servers.set(
            variant,
            await serve(SERVE, [framework, variant === 'control' ? 'bare' : variant], headers),
          );
        // Warm up (JIT, the KS cache, the JWT cache).
        for (const variant of VARIANTS) await measure(servers.get(variant)!, 1);
        const measures = new Map<Variant, Measure[]>(VARIANTS.map((v) => [v, []]));
        for (let r = 0; r < rounds; r++) {
          const order = shuffled(VARIANTS, r);
          for (const variant of order)
            measures.get(variant)!.push(await measure(servers.get(variant)!, seconds));
        }
        const pick = (variant: Variant, key: keyof Measure) =>
          median(measures.get(variant)!.map((m) => m[key]));
        // Each round's ratio pairs a variant with its baseline measured next to it, so drift
        // on a shared machine cancels within a pair; by CPU, the baseline's CPU time per
        // request over the variant's (>= 1 when cheaper).
        const byCpu = (variant: Variant, base: Variant) =>
          measures
            .get(variant)!
            .map((m, r) => measures.get(base)![r]!.cpuPerRequest / m.cpuPerRequest);
        const byRate = (variant: Variant, base: Variant) =>
          median(
            measures
              .get(variant)!
              .map((m, r) => m.requestsPerSecond / measures.get(base)![r]!.requestsPerSecond),
          );
        const against: Record<Variant, Variant> = {
          bare: 'bare',
          control: 'bare',
          'bare-user': 'bare',
          ks: 'bare',
          hand: 'hand',
          'ks-jwt': 'bare',
        };
        for (const variant of VARIANTS) {
          const base = against[variant];
          const cpu = byCpu(variant, base);
          rows.push({
            app: `${framework}: ${LABEL[variant]}`,
            'req/s': Math.round(pick(variant, 'requestsPerSecond')),
            busy: `${Math.round(pick(variant, 'busy') * 100)}%`,
            'CPU µs/req': Math.round(pick(variant, 'cpuPerRequest') * 10) / 10,
            'vs (CPU)': variant === base ? 'baseline' : `${base}`,
            'CPU ratio': variant === base ? '' : ratio(median(cpu)),
            '95% CI': variant === base ? '' : medianInterval(cpu),
            'all rounds': variant === base ? '' : range(cpu),
            'req/s ratio': variant === base ? '' : ratio(byRate(variant, base)),
          });
        }
        const described = (variant: Variant, base: Variant) => {
          const cpu = byCpu(variant, base);
          return `${ratio(median(cpu))} by CPU (95% CI ${medianInterval(cpu)}, all ${range(cpu)})`;
        };
        const control = `control (bare vs bare) ${described('control', 'bare')}`;
        const route = median(byCpu('ks', 'bare'));
        targets.push({
          target: `${framework}: the KS route >= 0.9x the bare app (server CPU per request)`,
          met: route >= 0.9,
          detail: `${described('ks', 'bare')}; against the bare app reading the user header ${ratio(median(byCpu('ks', 'bare-user')))}; ${control}`,
        });
        // Issue 17: a signed-in request (jwtUser) at the speed of a bare one.
        const signedIn = median(byCpu('ks-jwt', 'bare'));
        targets.push({
          target: `${framework}: the KS route with jwtUser >= 0.9x the bare app (server CPU per request)`,
          met: signedIn >= 0.9,
          detail: `${described('ks-jwt', 'bare')}; ${control}`,
        });
        const jwtShare = median(byCpu('ks-jwt', 'hand'));
        targets.push({
          target: `${framework}: with a JWT cookie, >= 0.9x the hand-rolled route (server CPU per request)`,
          met: jwtShare >= 0.9,
          detail: described('ks-jwt', 'hand'),
        });
      } finally {
        for (const server of servers.values()) await stop(server);
      }
    }
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
  return {
    suite: 'middleware',
    title: `Middleware overhead: the KS route from a warm cache vs baselines (${CONNECTIONS} connections × ${DEPTH} pipelined requests, ${rounds} × ${seconds} s rounds alternating; medians, ratios paired by round; ${pinned ? 'servers pinned to core 1, the load to core 0' : 'not pinned: no taskset'})`,
    rows,
    targets,
    notes: [
      '"CPU µs/req" is the server process\'s CPU time (user + system) per request served, read with process.cpuUsage() over IPC before and after each round; "CPU ratio" is the baseline\'s CPU per request over the row\'s (the throughput each would reach with a core to itself), the median of the per-round ratios, with a 95% confidence interval of that median (order statistics) and the range of the rounds. The control row runs the bare app twice: its ratio is the suite\'s own noise. "busy" is the server\'s CPU time over the round\'s wall time (median): under 100% the server waited for its core (other work on the machine) or for the load.',
    ],
  };
}

/**
 * Before/after of a change, in one run: the KS route (`ks`, the user from a header, or
 * `ks-jwt`, from a JWT cookie with `jwtUser`) served
 * by `apps/bench/src/servers/serve.ts` of two checkouts of the repo (each installed, run
 * from source), each in its own pinned process, with a second process of `before` as the
 * control; rounds alternate as in the suite above, and the ratios are server CPU time per
 * request, paired by round. `pnpm bench engine` with BENCH_BEFORE and BENCH_AFTER set to
 * the two checkouts' roots.
 */
export async function runBeforeAfterSuite({
  before,
  after,
  seconds = 0.25,
  rounds = 40,
  frameworks = ['express', 'koa'] as readonly Framework[],
  variant = 'ks',
}: {
  before: string;
  after: string;
  variant?: 'ks' | 'ks-jwt';
  seconds?: number;
  rounds?: number;
  frameworks?: readonly Framework[];
}): Promise<SuiteResult> {
  const rows: SuiteResult['rows'] = [];
  const targets: SuiteResult['targets'] = [];
  const pinned = canPin() && pinSelf('0');
  const headers = await requestHeaders();
  const sides = { before, control: before, after } as const;
  type Side = keyof typeof sides;
  const SIDES = Object.keys(sides) as Side[];
  try {
    for (const framework of frameworks) {
      const servers = new Map<Side, Server>();
      try {
        for (const side of SIDES) {
          const entry = new URL(`file://${sides[side]}/apps/bench/src/servers/serve.ts`);
          servers.set(side, await serve(entry, [framework, variant], headers));
        }
        for (const side of SIDES) await measure(servers.get(side)!, 1);
        const measures = new Map<Side, Measure[]>(SIDES.map((s) => [s, []]));
        for (let r = 0; r < rounds; r++) {
          const order = shuffled(SIDES, r);
          for (const side of order)
            measures.get(side)!.push(await measure(servers.get(side)!, seconds));
        }
        const each = (side: Side) =>
          measures
            .get(side)!
            .map((m, r) => measures.get('before')![r]!.cpuPerRequest / m.cpuPerRequest);
        for (const side of SIDES) {
          const ratios = each(side);
          rows.push({
            app: `${framework}: ${variant === 'ks' ? 'KS route' : 'KS route with jwtUser'}, ${side === 'control' ? 'before again (control)' : side}`,
            'req/s': Math.round(median(measures.get(side)!.map((m) => m.requestsPerSecond))),
            'CPU µs/req':
              Math.round(median(measures.get(side)!.map((m) => m.cpuPerRequest)) * 100) / 100,
            'CPU ratio vs before': side === 'before' ? 'baseline' : ratio(median(ratios)),
            'CPU ratio, 95% CI (all rounds)':
              side === 'before' ? '' : `${medianInterval(ratios)} (all ${range(ratios)})`,
          });
        }
        const kept = median(each('after'));
        targets.push({
          target: `${framework}: the route after the change >= 0.95x before it (server CPU per request)`,
          met: kept >= 0.95,
          detail: `${ratio(kept)}; control (before vs before) ${ratio(median(each('control')))}`,
        });
      } finally {
        for (const server of servers.values()) await stop(server);
      }
    }
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
  return {
    suite: 'engine',
    title: `Before/after: the KS route (${variant === 'ks' ? 'user from a header' : 'jwtUser cookie'}, warm cache) of ${before} against ${after} (${CONNECTIONS} connections × ${DEPTH} pipelined requests, ${rounds} × ${seconds} s rounds alternating; ${pinned ? 'servers pinned to core 1, the load to core 0' : 'not pinned: no taskset'})`,
    rows,
    targets,
    notes: [
      '"CPU ratio vs before" is before\'s server CPU time per request over the row\'s, the median of the per-round ratios (>= 1: cheaper); the control is before in a second process.',
    ],
  };
}
