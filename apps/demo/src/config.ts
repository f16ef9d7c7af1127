import { randomBytes } from 'node:crypto';
import { type AppTokenHashType, toAppTokenHashType } from '@kaltura-ks/core';
import { SAMPLE_ENTRIES } from '@kaltura-ks/emulator';

/**
 * The demo's settings, from Kaltura's own `.env` convention (see .env.example).
 * This file and main.ts are the only places that read the environment.
 */
export type KsStrategy = 'local' | 'session-start' | 'app-token';

export interface DemoConfig {
  port: number;
  /** Kaltura's API; absent means the embedded emulator. */
  serviceUrl?: string;
  partnerId?: number;
  adminSecret?: string;
  userSecret?: string;
  strategy: KsStrategy;
  appToken?: { id: string; token: string; hashType: AppTokenHashType };
  expiresInSeconds: number;
  /** Pre-fills the sign-in form. */
  defaultUserId?: string;
  /** A player (uiconf) id and an entry: with a real account, the page embeds the Kaltura Player. */
  playerId?: number;
  /**
   * The entry the player plays, and the only one the KS may view (`sview:<entryId>`). On the
   * embedded emulator it defaults to the first sample, which the player from npm plays.
   */
  entryId?: string;
  /** Signs the demo's session cookie; random per start unless DEMO_SESSION_SECRET is set. */
  sessionSecret: Uint8Array;
}

/** A setting is missing or malformed: the message is one line and names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A setting that fails validation may be a secret pasted onto the wrong line: never echo it. */
function unechoed(value: string): string {
  return `a ${value.length}-character value`;
}

function integer(
  env: Env,
  name: string,
  { min, max }: { min: number; max: number },
): number | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max} (got ${unechoed(value)})`,
    );
  }
  return Number(value);
}

const STRATEGIES: readonly KsStrategy[] = ['local', 'session-start', 'app-token'];

export function loadConfig(env: Env): DemoConfig {
  const port = integer(env, 'PORT', { min: 0, max: 65_535 }) ?? 3000;
  const serviceUrl = read(env, 'KALTURA_SERVICE_URL');
  if (serviceUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(serviceUrl);
    } catch {
      throw new ConfigError(
        `KALTURA_SERVICE_URL must be a URL like https://www.kaltura.com/api_v3`,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError('KALTURA_SERVICE_URL must be an http(s) URL');
    }
  }
  const partnerId = integer(env, 'KALTURA_PARTNER_ID', { min: 1, max: 2_147_483_647 });
  const adminSecret = read(env, 'KALTURA_ADMIN_SECRET');
  const userSecret = read(env, 'KALTURA_USER_SECRET');
  const strategyName = read(env, 'KS_STRATEGY') ?? 'local';
  if (!STRATEGIES.includes(strategyName as KsStrategy)) {
    throw new ConfigError(
      `KS_STRATEGY must be one of ${STRATEGIES.join(', ')} (got ${unechoed(strategyName)})`,
    );
  }
  const strategy = strategyName as KsStrategy;
  const embedded = serviceUrl === undefined;
  const expiresInSeconds =
    integer(env, 'KS_EXPIRY_SECONDS', { min: 30, max: 31_536_000 }) ?? (embedded ? 60 : 3600);

  if (adminSecret !== undefined && partnerId === undefined) {
    throw new ConfigError('KALTURA_ADMIN_SECRET needs KALTURA_PARTNER_ID');
  }
  if (!embedded) {
    if (partnerId === undefined)
      throw new ConfigError('KALTURA_PARTNER_ID is needed with KALTURA_SERVICE_URL');
    if (strategy === 'local' && adminSecret === undefined) {
      throw new ConfigError('KS_STRATEGY=local needs KALTURA_ADMIN_SECRET');
    }
    if (strategy === 'session-start' && adminSecret === undefined && userSecret === undefined) {
      throw new ConfigError(
        'KS_STRATEGY=session-start needs KALTURA_USER_SECRET or KALTURA_ADMIN_SECRET',
      );
    }
  }

  let appToken: DemoConfig['appToken'];
  const appTokenId = read(env, 'KALTURA_APP_TOKEN_ID');
  const appTokenValue = read(env, 'KALTURA_APP_TOKEN');
  if ((appTokenId === undefined) !== (appTokenValue === undefined)) {
    throw new ConfigError('KALTURA_APP_TOKEN_ID and KALTURA_APP_TOKEN go together');
  }
  if (appTokenId !== undefined && appTokenValue !== undefined) {
    let hashType: AppTokenHashType;
    try {
      hashType = toAppTokenHashType(read(env, 'KALTURA_APP_TOKEN_HASH_TYPE') ?? 'SHA1');
    } catch {
      throw new ConfigError('KALTURA_APP_TOKEN_HASH_TYPE must be MD5, SHA1, SHA256 or SHA512');
    }
    appToken = { id: appTokenId, token: appTokenValue, hashType };
  } else if (strategy === 'app-token' && !embedded) {
    throw new ConfigError('KS_STRATEGY=app-token needs KALTURA_APP_TOKEN_ID and KALTURA_APP_TOKEN');
  }

  const playerId = integer(env, 'KALTURA_PLAYER_ID', { min: 1, max: 2_147_483_647 });
  const givenEntryId = read(env, 'KALTURA_ENTRY_ID');
  if (givenEntryId !== undefined && !/^\d+_[A-Za-z0-9]{1,32}$/.test(givenEntryId)) {
    throw new ConfigError(
      `KALTURA_ENTRY_ID must look like 1_abcd1234 (got ${unechoed(givenEntryId)})`,
    );
  }
  const samples = SAMPLE_ENTRIES.map((s) => s.id);
  if (embedded && givenEntryId !== undefined && !samples.includes(givenEntryId)) {
    throw new ConfigError(
      `KALTURA_ENTRY_ID must be one of the emulator's samples (${samples.join(', ')}) without KALTURA_SERVICE_URL`,
    );
  }
  const entryId = givenEntryId ?? (embedded ? samples[0] : undefined);
  const defaultUserId = read(env, 'KALTURA_USER_ID');
  const sessionSecretText = read(env, 'DEMO_SESSION_SECRET');
  if (sessionSecretText !== undefined && sessionSecretText.length < 32) {
    throw new ConfigError('DEMO_SESSION_SECRET must be at least 32 characters');
  }

  return {
    port,
    serviceUrl,
    partnerId,
    adminSecret,
    userSecret,
    strategy,
    appToken,
    expiresInSeconds,
    defaultUserId,
    playerId,
    entryId,
    sessionSecret:
      sessionSecretText === undefined
        ? randomBytes(32)
        : new TextEncoder().encode(sessionSecretText),
  };
}
