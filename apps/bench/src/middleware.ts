import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import { median, ratio, type SuiteResult } from './harness.js';
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
const CONNECTIONS = 50;
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
  p50: number;
  p99: number;
  /** Server CPU time per request, µs. */
  cpuPerRequest: number;
}

async function load(
  server: { child: ChildProcess; port: number },
  seconds: number,
  headers: Record<string, string>,
): Promise<Measure> {
  const before = await cpuUsage(server.child);
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/kaltura/ks`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    headers,
  });
  const cpu = (await cpuUsage(server.child)) - before;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`non-2xx or errors: ${result.non2xx}/${result.errors}`);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: cpu / result.requests.total,
  };
}

/**
 * 2. Middleware overhead: the KS route from a warm cache against two baselines, each
 * server in its own process pinned to core 1 (when `taskset` is there), autocannon in
 * this process pinned to core 0, 50 connections each, rounds alternating:
 * - a bare app answering a same-size fixed JSON body (no user, no KS: the floor), and the
 *   same app reading the user header first (what reading a header costs in the framework:
 *   nothing in Express, Koa or Fastify, whose Node request has its headers parsed; a
 *   `Headers` object built per request in Hono on Node);
 * - a hand-rolled route that verifies the same JWT cookie with jose and serves a KS
 *   from a Map (what an app would write without kaltura-ks), against kaltura-ks with
 *   `jwtUser` reading that cookie.
 * Besides req/s, each server's CPU time per request (process.cpuUsage over IPC) is
 * reported: on a shared machine it is steadier than throughput.
 */
export async function runMiddlewareSuite({
  seconds = 2,
  rounds = 9,
  frameworks = FRAMEWORKS as readonly Framework[],
} = {}): Promise<SuiteResult> {
  const rows: SuiteResult['rows'] = [];
  const targets: SuiteResult['targets'] = [];
  const pinned = canPin() && pinSelf('0');
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(BENCH_USER)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(JWT_SECRET));
  // Every server gets the same request: the header user and the cookie.
  const headers = { 'x-user': BENCH_USER, cookie: `${JWT_COOKIE}=${jwt}` };
  try {
    for (const framework of frameworks) {
      const servers = new Map<Variant, { child: ChildProcess; port: number }>();
      try {
        for (const variant of VARIANTS) {
          const started = await startProcess<{ port: number }>(
            SERVE,
            [framework, variant === 'control' ? 'bare' : variant],
            {
              cpus: '1',
              ipc: true,
            },
          );
          servers.set(variant, { child: started.child, port: started.ready.port });
        }
        // Warm up (JIT, the KS cache, keep-alive sockets).
        for (const variant of VARIANTS) await load(servers.get(variant)!, 1, headers);
        const measures = new Map<Variant, Measure[]>(VARIANTS.map((v) => [v, []]));
        for (let r = 0; r < rounds; r++) {
          // Each round starts one server later, so none is always first (or last) in a round.
          const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
          for (const variant of order)
            measures.get(variant)!.push(await load(servers.get(variant)!, seconds, headers));
        }
        const pick = (variant: Variant, key: keyof Measure) =>
          median(measures.get(variant)!.map((m) => m[key]));
        // Ratios pair each round with its baseline's round (measured in the same round), then
        // take the median: drift on a shared machine cancels within a pair.
        const paired = (variant: Variant, base: Variant, key: keyof Measure, inverse = false) =>
          median(
            measures.get(variant)!.map((m, r) => {
              const b = measures.get(base)![r]![key];
              return inverse ? b / m[key] : m[key] / b;
            }),
          );
        // By CPU: the bare app's CPU time per request over the variant's, >= 1 when cheaper.
        const byCpu = (variant: Variant, base: Variant) =>
          paired(variant, base, 'cpuPerRequest', true);
        const byRate = (variant: Variant, base: Variant) =>
          paired(variant, base, 'requestsPerSecond');
        const spread = (variant: Variant, base: Variant) => {
          const each = measures
            .get(variant)!
            .map((m, r) => measures.get(base)![r]!.cpuPerRequest / m.cpuPerRequest);
          return `${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)}`;
        };
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
          rows.push({
            app: `${framework}: ${LABEL[variant]}`,
            'req/s': Math.round(pick(variant, 'requestsPerSecond')),
            'p50 ms': pick(variant, 'p50'),
            'p99 ms': pick(variant, 'p99'),
            'CPU µs/req': Math.round(pick(variant, 'cpuPerRequest') * 10) / 10,
            'vs (CPU)': variant === base ? 'baseline' : `${base}`,
            'CPU ratio': variant === base ? '' : ratio(byCpu(variant, base)),
            'CPU ratio, rounds': variant === base ? '' : spread(variant, base),
            'req/s ratio': variant === base ? '' : ratio(byRate(variant, base)),
          });
        }
        const control = `control (bare vs bare) ${ratio(byCpu('control', 'bare'))} by CPU, ${ratio(byRate('control', 'bare'))} req/s`;
        // The targets are judged by server CPU per request (stable under load); req/s is shown.
        const route = byCpu('ks', 'bare');
        targets.push({
          target: `${framework}: the KS route >= 0.9x the bare app (server CPU per request)`,
          met: route >= 0.9,
          detail: `${ratio(route)} by CPU (rounds ${spread('ks', 'bare')}), ${ratio(byRate('ks', 'bare'))} req/s; against the bare app reading the user header ${ratio(byCpu('ks', 'bare-user'))} by CPU; ${control}`,
        });
        // Issue 17: a signed-in request (jwtUser) at the speed of a bare one.
        const signedIn = byCpu('ks-jwt', 'bare');
        targets.push({
          target: `${framework}: the KS route with jwtUser >= 0.9x the bare app (server CPU per request)`,
          met: signedIn >= 0.9,
          detail: `${ratio(signedIn)} by CPU (rounds ${spread('ks-jwt', 'bare')}), ${ratio(byRate('ks-jwt', 'bare'))} req/s; ${control}`,
        });
        const jwtShare = byCpu('ks-jwt', 'hand');
        targets.push({
          target: `${framework}: with a JWT cookie, >= 0.9x the hand-rolled route (server CPU per request)`,
          met: jwtShare >= 0.9,
          detail: `${ratio(jwtShare)} by CPU, ${ratio(byRate('ks-jwt', 'hand'))} req/s`,
        });
      } finally {
        for (const server of servers.values()) await stopProcess(server.child);
      }
    }
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
  return {
    suite: 'middleware',
    title: `Middleware overhead: the KS route from a warm cache vs baselines (autocannon, ${CONNECTIONS} connections, ${rounds} × ${seconds} s rounds alternating; medians, ratios paired by round; ${pinned ? 'servers pinned to core 1, autocannon to core 0' : 'not pinned: no taskset'})`,
    rows,
    targets,
    notes: [
      '"CPU µs/req" is the server process\'s CPU time (user + system) per request served, read with process.cpuUsage() over IPC before and after each round; "CPU ratio" is the baseline\'s CPU per request over the row\'s (the throughput each would reach with a core to itself), the median of the per-round ratios, with the range over the rounds. The control row runs the bare app twice: its ratio is the suite\'s own noise.',
    ],
  };
}

/**
 * Before/after of a change, in one run: the KS route (`ks`, the user from a header) served
 * by `apps/bench/src/servers/serve.ts` of two checkouts of the repo (each installed, run
 * from source), each in its own pinned process, with a second process of `before` as the
 * control; rounds alternate as in the suite above, and the ratios are server CPU time per
 * request, paired by round. `pnpm bench engine` with BENCH_BEFORE and BENCH_AFTER set to
 * the two checkouts' roots.
 */
export async function runBeforeAfterSuite({
  before,
  after,
  seconds = 2,
  rounds = 9,
  frameworks = ['express', 'koa'] as readonly Framework[],
}: {
  before: string;
  after: string;
  seconds?: number;
  rounds?: number;
  frameworks?: readonly Framework[];
}): Promise<SuiteResult> {
  const rows: SuiteResult['rows'] = [];
  const targets: SuiteResult['targets'] = [];
  const pinned = canPin() && pinSelf('0');
  const headers = { 'x-user': BENCH_USER };
  const sides = { before, control: before, after } as const;
  type Side = keyof typeof sides;
  const SIDES = Object.keys(sides) as Side[];
  try {
    for (const framework of frameworks) {
      const servers = new Map<Side, { child: ChildProcess; port: number }>();
      try {
        for (const side of SIDES) {
          const entry = new URL(`file://${sides[side]}/apps/bench/src/servers/serve.ts`);
          const started = await startProcess<{ port: number }>(entry, [framework, 'ks'], {
            cpus: '1',
            ipc: true,
          });
          servers.set(side, { child: started.child, port: started.ready.port });
        }
        for (const side of SIDES) await load(servers.get(side)!, 1, headers);
        const measures = new Map<Side, Measure[]>(SIDES.map((s) => [s, []]));
        for (let r = 0; r < rounds; r++) {
          const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!);
          for (const side of order)
            measures.get(side)!.push(await load(servers.get(side)!, seconds, headers));
        }
        const each = (side: Side) =>
          measures
            .get(side)!
            .map((m, r) => measures.get('before')![r]!.cpuPerRequest / m.cpuPerRequest);
        for (const side of SIDES) {
          const ratios = each(side);
          rows.push({
            app: `${framework}: KS route, ${side === 'control' ? 'before again (control)' : side}`,
            'req/s': Math.round(median(measures.get(side)!.map((m) => m.requestsPerSecond))),
            'CPU µs/req':
              Math.round(median(measures.get(side)!.map((m) => m.cpuPerRequest)) * 100) / 100,
            'CPU ratio vs before': side === 'before' ? 'baseline' : ratio(median(ratios)),
            'CPU ratio, rounds':
              side === 'before'
                ? ''
                : `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
          });
        }
        const kept = median(each('after'));
        targets.push({
          target: `${framework}: the route after the change >= 0.95x before it (server CPU per request)`,
          met: kept >= 0.95,
          detail: `${ratio(kept)}; control (before vs before) ${ratio(median(each('control')))}`,
        });
      } finally {
        for (const server of servers.values()) await stopProcess(server.child);
      }
    }
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
  return {
    suite: 'engine',
    title: `Before/after: the KS route (user from a header, warm cache) of ${before} against ${after} (autocannon, ${CONNECTIONS} connections, ${rounds} × ${seconds} s rounds alternating; ${pinned ? 'servers pinned to core 1, autocannon to core 0' : 'not pinned: no taskset'})`,
    rows,
    targets,
    notes: [
      '"CPU ratio vs before" is before\'s server CPU time per request over the row\'s, the median of the per-round ratios (>= 1: cheaper); the control is before in a second process.',
    ],
  };
}
