import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('demo configuration', () => {
  it('needs nothing: the embedded emulator, local signing, a short lifetime, its first sample', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      strategy: 'local',
      expiresInSeconds: 60,
      entryId: '0_emu00001',
    });
    expect(config.serviceUrl).toBeUndefined();
    expect(config.sessionSecret).toHaveLength(32);
    expect(loadConfig({ KALTURA_ENTRY_ID: '0_emu00003' }).entryId).toBe('0_emu00003');
  });

  it('reads a real account', () => {
    const config = loadConfig({
      KALTURA_SERVICE_URL: 'https://www.kaltura.com/api_v3',
      KALTURA_PARTNER_ID: '1234',
      KALTURA_ADMIN_SECRET: 'secret',
      KALTURA_PLAYER_ID: '5678',
      KALTURA_ENTRY_ID: '1_abcd1234',
      PORT: '8080',
    });
    expect(config).toMatchObject({
      partnerId: 1234,
      playerId: 5678,
      entryId: '1_abcd1234',
      port: 8080,
      expiresInSeconds: 3600,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ KALTURA_SERVICE_URL: 'not a url' }, 'KALTURA_SERVICE_URL'],
    [{ KALTURA_SERVICE_URL: 'ftp://x/api_v3' }, 'KALTURA_SERVICE_URL'],
    [{ KALTURA_SERVICE_URL: 'https://www.kaltura.com/api_v3' }, 'KALTURA_PARTNER_ID'],
    [
      { KALTURA_SERVICE_URL: 'https://www.kaltura.com/api_v3', KALTURA_PARTNER_ID: '1' },
      'KALTURA_ADMIN_SECRET',
    ],
    [
      {
        KALTURA_SERVICE_URL: 'https://k/api_v3',
        KALTURA_PARTNER_ID: '1',
        KS_STRATEGY: 'app-token',
      },
      'KALTURA_APP_TOKEN_ID',
    ],
    [{ KALTURA_PARTNER_ID: '-4' }, 'KALTURA_PARTNER_ID'],
    [{ KALTURA_ADMIN_SECRET: 'x' }, 'KALTURA_PARTNER_ID'],
    [{ KS_STRATEGY: 'magic' }, 'KS_STRATEGY'],
    [{ KS_EXPIRY_SECONDS: '5' }, 'KS_EXPIRY_SECONDS'],
    [{ KALTURA_APP_TOKEN_ID: '0_x' }, 'KALTURA_APP_TOKEN'],
    [
      { KALTURA_APP_TOKEN_ID: '0_x', KALTURA_APP_TOKEN: 'y', KALTURA_APP_TOKEN_HASH_TYPE: 'SHA3' },
      'KALTURA_APP_TOKEN_HASH_TYPE',
    ],
    [{ KALTURA_ENTRY_ID: 'entry; drop' }, 'KALTURA_ENTRY_ID'],
    [{ KALTURA_ENTRY_ID: '1_abcd1234' }, "KALTURA_ENTRY_ID must be one of the emulator's samples"],
    [{ KALTURA_PLAYER_ID: 'abc' }, 'KALTURA_PLAYER_ID'],
    [{ DEMO_SESSION_SECRET: 'short' }, 'DEMO_SESSION_SECRET'],
  ])('%j: a one-line message naming %s', (env, name) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never puts a secret in a message', () => {
    try {
      loadConfig({
        KALTURA_ADMIN_SECRET: 'top-secret-value',
        KALTURA_SERVICE_URL: 'https://k/api_v3',
      });
    } catch (error) {
      expect((error as Error).message).not.toContain('top-secret-value');
    }
  });
});
