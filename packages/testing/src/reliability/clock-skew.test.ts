import { verifyKs } from '@kaltura-ks/core';
import { createKalturaClient, type KalturaClient } from '@kaltura-ks/core/client';
import {
  createKsIssuer,
  type KsIssuer,
  type KsIssuerOptions,
  type KsSession,
} from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addAppTokens, START_MS } from './support.js';

/**
 * Kaltura's clock is not ours. Kaltura refuses a KS once its own clock reaches `validUntil`,
 * with no grace, so a KS signed or judged on the app server's clock dies early at Kaltura
 * when Kaltura runs ahead. Here the emulator's clock runs 5 minutes ahead, 5 minutes behind
 * and an hour ahead of the app server's; for every way to mint and for lifetimes of 600 s
 * and 3600 s, a user asks for a KS every lifetime/20 over three lifetimes, as server code
 * (`getKs`) and as a page (`fresh: true`) in turn, with Kaltura healthy or down for the whole
 * second lifetime, or with Kaltura's clock unreadable (`system.getTime` failing) at the first
 * mint. Every KS handed out is then used at the emulator (`baseEntry.list`) at
 * that very moment: none may be refused as expired. Its `expiresAt` (on the app server's
 * clock) must not be later than the moment Kaltura stops taking it either.
 *
 * Both clocks are injected and move only when the test moves them; the only real time is
 * the loopback requests.
 */

const PARTNER = 5401;
const ADMIN_SECRET = 'clock-skew-admin-secret-3b7d90e1';
const USER_SECRET = 'clock-skew-user-secret-c41a6f28';
const MINUTE = 60_000;
const LIFETIMES_S = [600, 3600] as const;

let local = START_MS;
let skewMs = 0;
const now = () => local;
const kalturaNow = () => local + skewMs;

let emulator: Emulator;
let client: KalturaClient;
let appToken: { id: string; token: string };
const issuers: KsIssuer[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
    now: kalturaNow,
  });
  client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER, retry: false });
  [appToken] = (await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [{}])) as [
    { id: string; token: string },
  ];
});

afterEach(async () => {
  emulator.faults.clear();
  await Promise.all(issuers.splice(0).map((issuer) => issuer.close()));
});

afterAll(async () => {
  await client?.close();
  await emulator?.close();
});

interface Way {
  name: string;
  options(): Partial<KsIssuerOptions>;
  /** Mints at Kaltura, so an outage stops its mints. */
  remote: boolean;
}

const WAYS: Way[] = [
  {
    name: 'local signing, the clock measured at Kaltura',
    options: () => ({ adminSecret: ADMIN_SECRET, serviceUrl: emulator.url }),
    remote: false,
  },
  {
    name: 'local signing, the offset given (no serviceUrl)',
    options: () => ({ adminSecret: ADMIN_SECRET, kalturaClockOffsetMs: skewMs }),
    remote: false,
  },
  {
    name: 'session.start (admin secret)',
    options: () => ({ sessionStart: { secret: ADMIN_SECRET }, serviceUrl: emulator.url }),
    remote: true,
  },
  {
    name: 'session.start (user secret)',
    options: () => ({ sessionStart: { secret: USER_SECRET }, serviceUrl: emulator.url }),
    remote: true,
  },
  {
    name: 'an app token',
    options: () => ({ appToken, serviceUrl: emulator.url }),
    remote: true,
  },
];

const SKEWS = [
  { label: '5 minutes ahead', skewMs: 5 * MINUTE },
  { label: '5 minutes behind', skewMs: -5 * MINUTE },
  { label: 'an hour ahead', skewMs: 60 * MINUTE },
];

/** Kaltura down: every mint and clock reading fails; the KS check itself still answers. */
function outage(on: boolean): void {
  emulator.faults.clear();
  if (!on) return;
  for (const service of ['session', 'appToken', 'system']) {
    emulator.faults.set({ service, mode: 'http-5xx', status: 503 });
  }
}

/**
 * Kaltura's clock cannot be read (`system.getTime` fails) while everything else answers:
 * at the first mint, the issuer has no offset to promise an expiry by.
 */
function clockMissed(on: boolean): void {
  emulator.faults.clear();
  if (on) emulator.faults.set({ service: 'system', action: 'getTime', mode: 'http-5xx' });
}

/** Whether Kaltura takes the KS now: a call made with it. */
async function acceptedNow(ks: string): Promise<string | undefined> {
  try {
    await client.request('baseEntry', 'list', {}, { ks });
    return undefined;
  } catch (error) {
    return (error as { kalturaMessage?: string }).kalturaMessage ?? String(error);
  }
}

/** Whether Kaltura takes the KS at `atLocalMs` on the app server's clock (checked locally). */
function validAt(ks: string, atLocalMs: number): boolean {
  try {
    verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER, now: () => atLocalMs + skewMs });
    return true;
  } catch {
    return false;
  }
}

describe.each(SKEWS)("Kaltura's clock $label", (skew) => {
  it.each(WAYS)(
    '$name: every KS handed out works at Kaltura, over three lifetimes: healthy, in an outage, or with its clock unread at first',
    async (way) => {
      const refused: string[] = [];
      for (const lifetimeS of LIFETIMES_S) {
        for (const down of [false, true, 'clock']) {
          local = START_MS;
          skewMs = skew.skewMs;
          emulator.faults.clear();
          const issuer = createKsIssuer({
            partnerId: PARTNER,
            ...way.options(),
            now,
            expiresInSeconds: lifetimeS,
            clientOptions: { retry: false },
            onWarning: () => {},
          });
          issuers.push(issuer);
          const lifetimeMs = lifetimeS * 1000;
          const stepMs = lifetimeMs / 20;
          let handedOut = 0;
          let afterOutage = 0;
          for (let step = 0; step < 60; step++, local += stepMs) {
            const elapsed = step * stepMs;
            if (down === 'clock') clockMissed(step === 0);
            else if (down) outage(elapsed >= lifetimeMs && elapsed < 2 * lifetimeMs);
            let session: KsSession;
            try {
              session = await issuer.getKs({ userId: 'alice' }, { fresh: step % 2 === 1 });
            } catch {
              continue; // not handed out (Kaltura down, nothing valid cached): the caller knows
            }
            handedOut++;
            if (elapsed >= 2 * lifetimeMs) afterOutage++;
            const where = `${lifetimeS} s, ${down === 'clock' ? 'clock missed' : down ? 'outage' : 'healthy'}, at ${elapsed / 1000} s`;
            const why = await acceptedNow(session.ks);
            if (why !== undefined) refused.push(`${where}: ${why}`);
            // expiresAt is on our clock, and never later than Kaltura's real expiry.
            if (!validAt(session.ks, session.expiresAt - 1))
              refused.push(`${where}: expiresAt is after Kaltura's expiry`);
            if (session.expiresAt - now() < Math.min(60_000, lifetimeMs / 10))
              refused.push(`${where}: handed out with too little life left`);
          }
          if (handedOut === 0) refused.push(`${lifetimeS} s: nothing was handed out`);
          if (afterOutage === 0) refused.push(`${lifetimeS} s: nothing after the outage`);
        }
      }
      expect(refused).toEqual([]);
    },
  );
});
