import { createRequire } from 'node:module';
import { appTokenHash, verifyKs } from '@kaltura-ks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from './server.js';
import {
  ADMIN_SECRET,
  PARTNER_ID,
  startEmulator,
  testClock,
  testOptions,
} from './test-utils/harness.js';

/**
 * Kaltura's official Node client (npm `kaltura-client`), unchanged, pointed at the emulator.
 * It ships no types: this is the little of it the test touches.
 */
interface Request {
  execute(client: Client): Promise<unknown>;
  add(other: Request): Request;
}
interface Client {
  setKs(ks: string): void;
}
type Service = Record<string, (...args: unknown[]) => Request>;
interface KalturaModule {
  Configuration: new () => { serviceUrl: string; setLogger(logger: unknown): void };
  Client: new (config: unknown) => Client;
  services: Record<'session' | 'appToken' | 'baseEntry' | 'system', Service>;
  objects: Record<
    'AppToken' | 'AppTokenFilter' | 'FilterPager' | 'BaseEntryFilter',
    new (
      fields?: object,
    ) => object
  >;
  enums: {
    AppTokenHashType: Record<'SHA1' | 'SHA256', string>;
    SessionType: Record<'USER' | 'ADMIN', number>;
  };
}

const kaltura = createRequire(import.meta.url)('kaltura-client') as KalturaModule;
const { services, objects, enums } = kaltura;

const clock = testClock();
let emulator: Emulator;

function newClient(): Client {
  const config = new kaltura.Configuration();
  // The client appends /api_v3/service/…: its serviceUrl is the origin.
  config.serviceUrl = emulator.origin;
  // Its default logger prints every request, secrets included: silence it.
  config.setLogger({ log() {}, debug() {}, error() {} });
  return new kaltura.Client(config);
}

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
});
afterAll(() => emulator.close());

// biome-ignore lint/suspicious/noExplicitAny: the client answers untyped JSON
type Json = any;

describe('the official kaltura-client against the emulator', () => {
  it('starts a session and lists entries', async () => {
    const client = newClient();
    const ks = (await services.session.start!(
      ADMIN_SECRET,
      'admin-user',
      enums.SessionType.ADMIN,
      PARTNER_ID,
    ).execute(client)) as string;
    expect(verifyKs(ks, { secrets: ADMIN_SECRET, now: clock.now })).toMatchObject({
      userId: 'admin-user',
      type: 2,
    });
    client.setKs(ks);
    const list = (await services.baseEntry.listAction!(
      new objects.BaseEntryFilter({ idEqual: '0_emu00002' }),
    ).execute(client)) as Json;
    expect(list).toMatchObject({ totalCount: 1, objectType: 'KalturaBaseEntryListResponse' });
    const info = (await services.session.get!().execute(client)) as Json;
    expect(info).toMatchObject({ userId: 'admin-user', sessionType: '2' });
  });

  it('gets Kaltura errors as rejections with code and message', async () => {
    const client = newClient();
    await expect(
      services.session.start!('wrong-secret', '', 2, PARTNER_ID).execute(client),
    ).rejects.toMatchObject({
      code: 'START_SESSION_ERROR',
      objectType: 'KalturaAPIException',
    });
  });

  it('runs an appToken lifecycle', async () => {
    const admin = newClient();
    admin.setKs(
      (await services.session.start!(ADMIN_SECRET, '', 2, PARTNER_ID).execute(admin)) as string,
    );

    const added = (await services.appToken.add!(
      new objects.AppToken({
        description: 'from kaltura-client',
        sessionPrivileges: 'sview:*',
        hashType: enums.AppTokenHashType.SHA256,
      }),
    ).execute(admin)) as Json;
    expect(added).toMatchObject({
      status: 2,
      hashType: 'SHA256',
      sessionPrivileges: 'sview:*',
      objectType: 'KalturaAppToken',
    });

    expect(await services.appToken.get!(added.id).execute(admin)).toEqual(added);
    const updated = (await services.appToken.update!(
      added.id,
      new objects.AppToken({ description: 'renamed' }),
    ).execute(admin)) as Json;
    expect(updated.description).toBe('renamed');
    const listed = (await services.appToken.listAction!(
      new objects.AppTokenFilter({ idEqual: added.id }),
      new objects.FilterPager({ pageSize: 10 }),
    ).execute(admin)) as Json;
    expect(listed.objects.map((t: Json) => t.id)).toEqual([added.id]);

    // The browser's side: a widget session, the token hash, appToken.startSession.
    const browser = newClient();
    const widget = (await services.session.startWidgetSession!(`_${PARTNER_ID}`).execute(
      browser,
    )) as Json;
    browser.setKs(widget.ks);
    const tokenHash = appTokenHash(widget.ks, added.token, 'SHA256');
    const session = (await services.appToken.startSession!(
      added.id,
      tokenHash,
      'viewer',
      null,
      600,
    ).execute(browser)) as Json;
    expect(session).toMatchObject({
      userId: 'viewer',
      sessionType: 0,
      objectType: 'KalturaSessionInfo',
    });
    expect(session.privileges).toBe(`sessionid:${added.id},apptoken:${added.id},sview:*`);

    browser.setKs(session.ks);
    expect(await services.baseEntry.listAction!().execute(browser)).toMatchObject({
      totalCount: 3,
    });

    await services.appToken.deleteAction!(added.id).execute(admin);
    await expect(services.baseEntry.listAction!().execute(browser)).rejects.toMatchObject({
      code: 'INVALID_KS',
      args: { KSID: 'LOGOUT' },
    });
  });

  it('sends multirequests', async () => {
    const client = newClient();
    const results = (await services.system.ping!()
      .add(services.system.getTime!())
      .add(services.session.start!(ADMIN_SECRET, '', 2, PARTNER_ID))
      .execute(client)) as Json[];
    expect(results[0]).toBe(true);
    expect(results[1]).toBe(clock.seconds());
    expect(typeof results[2]).toBe('string');
  });
});
