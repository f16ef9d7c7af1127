import { randomBytes } from 'node:crypto';
import { type Clock, KsType } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import type { DemoConfig } from './config.js';
import type { KalturaSetup } from './server.js';

export interface PreparedKaltura {
  setup: KalturaSetup;
  emulator?: Emulator;
  close(): Promise<void>;
}

export interface PrepareKalturaOptions {
  /**
   * The embedded emulator's clock (epoch ms), and the clock of the call that makes its app
   * token: give it the clock given to createDemoApp. Default `Date.now`.
   */
  now?: Clock;
}

/** Where KSs come from: the embedded emulator (seeded from the settings) or a real account. */
export async function prepareKaltura(
  config: DemoConfig,
  { now = Date.now }: PrepareKalturaOptions = {},
): Promise<PreparedKaltura> {
  if (config.serviceUrl !== undefined) {
    const partnerId = config.partnerId!;
    const serviceUrl = config.serviceUrl;
    const base = { partnerId, serviceUrl };
    const issuerOptions: KalturaSetup['issuerOptions'] =
      config.strategy === 'local'
        ? { ...base, adminSecret: config.adminSecret! }
        : config.strategy === 'session-start'
          ? // The user secret can only make USER sessions: prefer it.
            { ...base, sessionStart: { secret: config.userSecret ?? config.adminSecret! } }
          : { ...base, appToken: config.appToken! };
    return {
      setup: {
        issuerOptions,
        verifySecrets: config.adminSecret === undefined ? undefined : [config.adminSecret],
        description: { backend: 'kaltura', partnerId, strategy: config.strategy, serviceUrl },
      },
      close: async () => {},
    };
  }

  const seeded =
    config.partnerId === undefined
      ? undefined
      : [
          {
            id: config.partnerId,
            adminSecret: config.adminSecret ?? randomBytes(16).toString('hex'),
            userSecret: config.userSecret ?? randomBytes(16).toString('hex'),
          },
        ];
  const emulator = await startEmulator({ partners: seeded, now });
  const partner = emulator.partners[0]!;
  const serviceUrl = emulator.url;
  let issuerOptions: KalturaSetup['issuerOptions'];
  if (config.strategy === 'local') {
    issuerOptions = { partnerId: partner.id, adminSecret: partner.adminSecret, serviceUrl };
  } else if (config.strategy === 'session-start') {
    issuerOptions = {
      partnerId: partner.id,
      sessionStart: { secret: partner.userSecret },
      serviceUrl,
    };
  } else {
    issuerOptions = {
      partnerId: partner.id,
      appToken:
        config.appToken ??
        (await createAppToken(serviceUrl, partner.id, partner.adminSecret, now, config.entryId)),
      serviceUrl,
    };
  }
  return {
    setup: {
      issuerOptions,
      verifySecrets: [partner.adminSecret, ...partner.additionalAdminSecrets],
      description: {
        backend: 'emulator',
        partnerId: partner.id,
        strategy: config.strategy,
        serviceUrl,
      },
    },
    emulator,
    close: () => emulator.close(),
  };
}

/**
 * On the emulator, KS_STRATEGY=app-token without a token gets one made at start, as an admin
 * would. With an entry to play, the demo asks each KS for `sview:<entry>`: Kaltura keeps a
 * caller's sview only where the token grants `sview:*` (as `kaltura-ks app-token add
 * --session-privileges 'sview:*'` makes it), so the token grants it then, and only then.
 */
async function createAppToken(
  serviceUrl: string,
  partnerId: number,
  adminSecret: string,
  now: Clock,
  entryId: string | undefined,
) {
  const client = createKalturaClient({
    serviceUrl,
    partnerId,
    clientTag: 'kaltura-ks-demo',
    now,
  });
  try {
    const ks = await client.session.start({
      secret: adminSecret,
      type: KsType.ADMIN,
      userId: 'demo-setup',
      expiresInSeconds: 300,
    });
    const token = await client.appToken.add(
      {
        hashType: 'SHA256',
        description: 'kaltura-ks demo',
        ...(entryId === undefined ? {} : { sessionPrivileges: 'sview:*' }),
      },
      { ks },
    );
    return { id: token.id, token: token.token, hashType: 'SHA256' as const };
  } finally {
    await client.close();
  }
}
