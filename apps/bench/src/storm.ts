import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { median, ratio, type SuiteResult } from './harness.js';
import { cpuTimes, cpuUsage, profile, startProcess, stopProcess } from './processes.js';
import { spawnIssuerWorker, type WorkerStorm } from './redis-test-utils.js';

const EMULATOR = new URL('./workers/emulator.ts', import.meta.url);
const APP = new URL('./servers/app-token-app.ts', import.meta.url);
const ISSUER = new URL('./workers/fleet-issuer.ts', import.meta.url);

/** The Kaltura client's connection pool in every app and issuer here: the library's default. */
export const POOL = 64;
/** Pools the issuer alone is measured with. */
const POOLS = [16, POOL, 256];

/** One storm through the route: wall time and the CPU time of each process, ms. */
interface Phase {
  name: string;
  wallMs: number;
  appCpuMs: number;
  /** The app's system (kernel) time, part of `appCpuMs`. */
  appSystemMs: number;
  emulatorCpuMs: number;
  clientCpuMs: number;
  answers: string[];
}

export interface EmulatorInfo {
  url: string;
  adminUrl: string;
  partnerId: number;
  appToken: { id: string; token: string; hashType: 'SHA256' };
}

export function startEmulator(latencyMs: number) {
  return startProcess<EmulatorInfo>(EMULATOR, [String(latencyMs)], { ipc: true });
}

export async function emulatorStats(adminUrl: string): Promise<Record<string, number>> {
  const res = await request(`${adminUrl}/stats`);
  return (await res.body.json()) as Record<string, number>;
}

export async function resetEmulatorStats(adminUrl: string): Promise<void> {
  await (await request(`${adminUrl}/stats`, { method: 'DELETE' })).body.dump();
}

/** The users of a storm, `perUser` requests each, interleaved: u0, u1, …, u499, u0, u1, … */
export function stormUsers(prefix: string, users: number, perUser: number): string[] {
  const list: string[] = [];
  for (let i = 0; i < perUser; i++) for (let u = 0; u < users; u++) list.push(`${prefix}-${u}`);
  return list;
}

/**
 * 3. Cold-start storm: 5,000 concurrent requests spread over 500 users, minting
 * through an app token against the emulator (its own process) with 20 ms of
 * added latency. Measured three ways, side by side: through the Express route
 * from a cold cache, the same 5,000 requests again from a warm cache (the cost
 * of serving them at all), and the issuer alone with no HTTP in front (the cost
 * of minting, to compare with the ideal of waves of `POOL` mints).
 */
export async function runStormSuite({
  users = 500,
  perUser = 10,
  latencyMs = 20,
  profileDir = undefined as string | undefined,
} = {}): Promise<SuiteResult> {
  const emulator = await startEmulator(latencyMs);
  const { adminUrl } = emulator.ready;
  const setup = JSON.stringify({ ...emulator.ready, maxConnections: POOL });
  const probeApp = await startProcess<{ port: number }>(APP, [setup]);
  const stormApp = await startProcess<{ port: number }>(APP, [setup], { ipc: true });
  // 500 sockets with 10 requests pipelined on each: 5,000 requests in flight at once
  // (5,000 simultaneous connects would overflow the listen backlog).
  const agent = new Agent({ connections: users, pipelining: perUser, keepAliveTimeout: 10_000 });
  const get = async (port: number, user: string, dispatcher: Agent = agent) => {
    const res = await request(`http://127.0.0.1:${port}/kaltura/ks`, {
      headers: { 'x-user': user },
      dispatcher,
    });
    const body = (await res.body.json()) as { ks?: string; userId?: string };
    if (res.statusCode !== 200 || body.userId !== user)
      throw new Error(`bad answer ${res.statusCode} for ${user}`);
    return body.ks!;
  };
  const timed = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  try {
    // Single mints through the route, one at a time. The first also fetches the widget
    // session (two round trips); later ones are one appToken.startSession each.
    const coldMs = await timed(() => get(probeApp.ready.port, 'probe-cold'));
    const warm: number[] = [];
    const hit: number[] = [];
    for (let i = 0; i < 7; i++) {
      warm.push(await timed(() => get(probeApp.ready.port, `probe-warm-${i}`)));
      hit.push(await timed(() => get(probeApp.ready.port, `probe-warm-${i}`)));
    }
    const warmMs = median(warm);
    const hitMs = median(hit);

    // The issuer alone (its own process, no HTTP in front): minting only, over pools of
    // several sizes, to show where the wall time follows the latency and where it does not.
    const alone: Array<{ pool: number; wallMs: number; mints: number; emulatorCpuMs: number }> = [];
    for (const pool of POOLS) {
      const issuer = await spawnIssuerWorker(ISSUER, { ...emulator.ready, maxConnections: pool });
      try {
        await issuer.getKs(`warm-up-${pool}`); // the widget session, and warm code
        await resetEmulatorStats(adminUrl);
        const emulatorCpu = await cpuUsage(emulator.child);
        const t = performance.now();
        const storm: WorkerStorm = await issuer.storm(stormUsers(`alone-${pool}`, users, perUser));
        const wallMs = performance.now() - t;
        const emulatorCpuMs = ((await cpuUsage(emulator.child)) - emulatorCpu) / 1000;
        if (storm.failed > 0) throw new Error(`issuer storm failed: ${storm.errors.join(', ')}`);
        const mints = (await emulatorStats(adminUrl))['appToken.startSession'] ?? 0;
        alone.push({ pool, wallMs, mints, emulatorCpuMs });
      } finally {
        await issuer.close();
      }
    }
    const main = alone.find((a) => a.pool === POOL)!;

    // Through the route: three storms of the same shape, each on 500 fresh sockets, with
    // the CPU time of each process (the app, the emulator, this load generator) metered.
    const storm = async (name: string, list: string[]): Promise<Phase> => {
      const agent = new Agent({
        connections: users,
        pipelining: perUser,
        keepAliveTimeout: 10_000,
      });
      try {
        if (profileDir) await Promise.all([profile(stormApp.child), profile(emulator.child)]);
        const app0 = await cpuTimes(stormApp.child);
        const emulator0 = await cpuUsage(emulator.child);
        const own0 = process.cpuUsage();
        const t0 = performance.now();
        const answers = await Promise.all(
          list.map((user) => get(stormApp.ready.port, user, agent)),
        );
        const wallMs = performance.now() - t0;
        const app1 = await cpuTimes(stormApp.child);
        const appSystemMs = (app1.system - app0.system) / 1000;
        const appCpuMs = (app1.user - app0.user) / 1000 + appSystemMs;
        const emulatorCpuMs = ((await cpuUsage(emulator.child)) - emulator0) / 1000;
        const own = process.cpuUsage(own0);
        const clientCpuMs = (own.user + own.system) / 1000;
        if (profileDir) {
          await Promise.all([
            profile(stormApp.child, join(profileDir, `storm-${name}-app.cpuprofile`)),
            profile(emulator.child, join(profileDir, `storm-${name}-emulator.cpuprofile`)),
          ]);
        }
        return { name, wallMs, appCpuMs, appSystemMs, emulatorCpuMs, clientCpuMs, answers };
      } finally {
        await agent.close();
      }
    };

    // Cold: a process that has not served a request yet, every cache empty: the storm the
    // target is about (the one cold mint above is measured in the same state).
    await resetEmulatorStats(adminUrl);
    const list = stormUsers('storm-user', users, perUser);
    const cold = await storm('cold', list);
    const counted = await emulatorStats(adminUrl);
    const perUserKs = new Map<string, Set<string>>();
    cold.answers.forEach((ks, i) => {
      const set = perUserKs.get(list[i]!) ?? new Set();
      set.add(ks);
      perUserKs.set(list[i]!, set);
    });
    const oneKsEach = [...perUserKs.values()].every((set) => set.size === 1);
    // Warm: the same requests again, every KS cached: what serving them costs without minting.
    const warmStorm = await storm('warm', list);
    // Cold again: new users in the same, now warmed-up process: minting without the one-time
    // costs of a fresh process (JIT, first connections to Kaltura).
    const again = await storm('again', stormUsers('storm-again', users, perUser));
    const wallMs = cold.wallMs;
    const warmWallMs = warmStorm.wallMs;
    const busyCores = (cold.appCpuMs + cold.emulatorCpuMs + cold.clientCpuMs) / wallMs;
    const phases = [cold, warmStorm, again];

    const startSessions = counted['appToken.startSession'] ?? 0;
    const widgetSessions = counted['session.startWidgetSession'] ?? 0;
    const waves = Math.ceil(users / POOL);
    const idealMs = waves * warmMs;
    const floorMs = Math.min(...alone.map((a) => a.wallMs));
    const total = (users * perUser).toLocaleString('en-US');
    return {
      suite: 'storm',
      title: `Cold-start storm: ${total} concurrent requests over ${users} users, app-token minting, emulator (own process) +${latencyMs} ms per call, Kaltura client pool ${POOL} connections`,
      rows: [
        { measure: 'route: appToken.startSession calls', value: startSessions },
        { measure: 'route: session.startWidgetSession calls', value: widgetSessions },
        { measure: 'route: one KS per user across its requests', value: oneKsEach ? 'yes' : 'no' },
        { measure: 'one cold mint alone (widget + startSession), ms', value: Math.round(coldMs) },
        { measure: 'one warm mint alone (startSession), median of 7, ms', value: round1(warmMs) },
        { measure: 'one cache hit alone, median of 7, ms', value: round1(hitMs) },
        ...alone.flatMap((a) => {
          const ideal = Math.ceil(users / a.pool) * warmMs;
          return [
            {
              measure: `issuer alone, pool ${a.pool}: wall ms (ideal ceil(${users}/${a.pool}) × ${round1(warmMs)} = ${Math.round(ideal)})`,
              value: Math.round(a.wallMs),
            },
            {
              measure: `issuer alone, pool ${a.pool}: wall / ideal`,
              value: ratio(a.wallMs / ideal),
            },
          ];
        }),
        {
          measure: `issuer alone, pool ${POOL}: appToken.startSession calls`,
          value: main.mints,
        },
        {
          measure: `issuer alone, pool ${POOL}: emulator CPU time, ms`,
          value: Math.round(main.emulatorCpuMs),
        },
        ...phases.flatMap((phase) => {
          const label = PHASE_LABELS[phase.name]!;
          const busy = (phase.appCpuMs + phase.emulatorCpuMs + phase.clientCpuMs) / phase.wallMs;
          return [
            { measure: `${label}: wall time, ms`, value: Math.round(phase.wallMs) },
            { measure: `${label}: app CPU time, ms`, value: Math.round(phase.appCpuMs) },
            {
              measure: `${label}: of which kernel (system), ms`,
              value: Math.round(phase.appSystemMs),
            },
            { measure: `${label}: emulator CPU time, ms`, value: Math.round(phase.emulatorCpuMs) },
            {
              measure: `${label}: load generator CPU time, ms`,
              value: Math.round(phase.clientCpuMs),
            },
            { measure: `${label}: cores kept busy (CPU time / wall)`, value: round1(busy) },
          ];
        }),
        {
          measure: `route: app CPU per mint, (cold again − warm) / ${users}, µs`,
          value: Math.round(((again.appCpuMs - warmStorm.appCpuMs) * 1000) / users),
        },
        {
          measure: `route: emulator CPU per mint, (cold again − warm) / ${users}, µs`,
          value: Math.round(((again.emulatorCpuMs - warmStorm.emulatorCpuMs) * 1000) / users),
        },
        {
          measure: "route: the app's one-time costs, cold − cold again, app CPU ms",
          value: Math.round(cold.appCpuMs - again.appCpuMs),
        },
        { measure: 'route: cold − warm (the minting), ms', value: Math.round(wallMs - warmWallMs) },
        { measure: 'route cold storm / one cold mint', value: ratio(wallMs / coldMs) },
        {
          // The app answers on one thread: its CPU time is a floor under the storm's wall time.
          measure:
            "route: the app's CPU time alone / one cold mint (the ratio's floor: one thread)",
          value: ratio(cold.appCpuMs / coldMs),
        },
        {
          measure: 'route cold again (warmed-up process) / one warm mint',
          value: ratio(again.wallMs / warmMs),
        },
        {
          measure: 'route: the minting alone, (cold − warm) / one cold mint',
          value: ratio((wallMs - warmWallMs) / coldMs),
        },
      ],
      targets: [
        {
          target: `exactly ${users} appToken.startSession calls`,
          met: startSessions === users,
          detail: String(startSessions),
        },
        {
          target: 'at most one widget session',
          met: widgetSessions <= 1,
          detail: String(widgetSessions),
        },
        {
          // Issue 17. Serving the same requests from a warm cache is part of the storm's wall
          // time on this machine (one core for the app, the other for the load generator and
          // the emulator): the row after it shows the minting's own share.
          target: 'route cold storm <= 8x one cold mint (issue 17)',
          met: wallMs / coldMs <= 8,
          detail: `${ratio(wallMs / coldMs)}; warm ${ratio(warmWallMs / coldMs)}, the minting ${ratio((wallMs - warmWallMs) / coldMs)}`,
        },
      ],
      notes: [
        `A warm mint is one ${latencyMs} ms round trip plus the emulator's and client's work; ${users} mints over ${POOL} pooled connections take ${waves} waves, so minting alone ideally takes ≈ ${Math.round(idealMs)} ms. With more connections the wall time stops following the latency: the fastest issuer-alone storm (${Math.round(floorMs)} ms) is the CPU the ${users} mints cost the client and the emulator on this machine.`,
        `The cold storm through the route also serves ${total} HTTP requests through Express (one process, one core) and opens ${users} sockets; the app, the load generator and the emulator keep ${round1(busyCores)} of this machine's ${availableParallelism()} cores busy, so the storm is bound by CPU, not by Kaltura's latency. The warm-cache run of the same requests shows the serving alone.`,
      ],
    };
  } finally {
    await agent.close();
    await stopProcess(probeApp.child);
    await stopProcess(stormApp.child);
    await stopProcess(emulator.child);
  }
}

const PHASE_LABELS: Record<string, string> = {
  cold: 'route, cold cache',
  warm: 'route, warm cache (same requests)',
  again: 'route, cold again (new users, warmed-up process)',
};

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
