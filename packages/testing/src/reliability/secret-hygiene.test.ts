import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createKsClient } from '@kaltura-ks/browser';
import { main as cliMain } from '@kaltura-ks/cli';
import {
  appTokenHash,
  createKs,
  decodeKs,
  isKsError,
  KsType,
  type KsVersion,
  verifyKs,
} from '@kaltura-ks/core';
import { createKalturaClient, type KalturaClientEvent } from '@kaltura-ks/core/client';
import { jwtUser } from '@kaltura-ks/core/http';
import { createKsIssuer, type KsIssuerEvent } from '@kaltura-ks/core/issuer';
import { type Emulator, main as emulatorMain, startEmulator } from '@kaltura-ks/emulator';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addAppTokens,
  type HttpAnswer,
  httpRequestOnce,
  type Listening,
  listen,
  startRoute,
} from './support.js';

/**
 * Secret hygiene, end to end: one test drives the error paths of every package with
 * recognisable credentials — an admin secret, a user secret, a password, an app token
 * value, a JWT secret and the KSs and token hashes made from them, plus wrong ones a user
 * might type — and captures everything that could end up in a log or in front of a user:
 * thrown errors (message, `String()`, JSON, `util.inspect` with the cause chain), HTTP
 * bodies and headers, `onEvent` payloads, `onReject`/`log` callbacks, process warnings,
 * CLI output, and anything written to the console or to stdout/stderr. It then fails if
 * any credential appears in full (or URL-encoded) anywhere.
 *
 * Success paths are not captured where printing a KS is the point (the route's 200, the
 * CLI's `mint`): only failures, events and logs.
 */

const PARTNER = 5310;
const ADMIN_SECRET = 'HYGIENE-ADMIN-SECRET-c0ffee11';
const USER_SECRET = 'HYGIENE-USER-SECRET-beef2222';
const WRONG_SECRET = 'HYGIENE-WRONG-SECRET-dead3333';
const PASSWORD = 'HYGIENE-PASSWORD-fade4444';
const WRONG_PASSWORD = 'HYGIENE-WRONG-PASSWORD-5555';
const WRONG_TOKEN = 'HYGIENE-WRONG-TOKEN-VALUE-6666';
const JWT_SECRET = 'HYGIENE-JWT-SECRET-0123456789abcdef7777';
const LOGIN_ID = 'hygiene@example.com';

/** Every credential the test handles; KSs, token values and hashes are added as they appear. */
const credentials = new Set<string>([
  ADMIN_SECRET,
  USER_SECRET,
  WRONG_SECRET,
  PASSWORD,
  WRONG_PASSWORD,
  WRONG_TOKEN,
  JWT_SECRET,
]);
const secret = <T extends string>(value: T): T => {
  credentials.add(value);
  return value;
};

/** Everything captured, with where it came from. */
const captured: { where: string; text: string }[] = [];

function textOf(value: unknown, depth = 0): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  if (value instanceof Error) {
    parts.push(value.message, String(value), value.stack ?? '');
    if (value.cause !== undefined && depth < 5) parts.push(textOf(value.cause, depth + 1));
  }
  try {
    parts.push(JSON.stringify(value) ?? '');
  } catch {
    // circular: inspect covers it
  }
  parts.push(inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY }));
  return parts.join('\n');
}

function capture(where: string, ...values: unknown[]): void {
  for (const value of values) captured.push({ where, text: textOf(value) });
}

function captureAnswer(where: string, answer: HttpAnswer): HttpAnswer {
  capture(where, answer.text, JSON.stringify(answer.headers));
  return answer;
}

/** Runs `fn`, expects it to fail, captures the error and returns it. */
async function failure(where: string, fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    capture(where, error);
    return error;
  }
  throw new Error(`${where}: expected a failure`);
}

let emulator: Emulator;
let appToken: { id: string; token: string };
let adminKs: string;
let userKs: string;
let widgetKs: string;
let endedKs: string;
const dir = mkdtempSync(join(tmpdir(), 'ks-hygiene-'));
const originalWrite = {
  stdout: process.stdout.write.bind(process.stdout),
  stderr: process.stderr.write.bind(process.stderr),
};
const onWarning = (warning: Error) => capture('process warning', warning);

beforeAll(async () => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      capture(`console.${method}`, ...args);
    });
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    vi.spyOn(process[stream], 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
      capture(`process.${stream}`, String(chunk));
      return originalWrite[stream](chunk as string, ...rest);
    }) as typeof process.stdout.write);
  }
  process.on('warning', onWarning);

  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
    users: [{ partnerId: PARTNER, loginId: LOGIN_ID, password: PASSWORD, userId: 'hygiene-user' }],
  });
  [appToken] = (await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [{}])) as [
    { id: string; token: string },
  ];
  secret(appToken.token);
  const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER });
  try {
    adminKs = secret(await client.session.start({ secret: ADMIN_SECRET, type: KsType.ADMIN }));
    userKs = secret(await client.session.start({ secret: USER_SECRET, userId: 'hygiene-user' }));
    widgetKs = secret((await client.session.startWidgetSession()).ks);
    endedKs = secret(await client.session.start({ secret: ADMIN_SECRET, userId: 'ended' }));
    await client.session.end({ ks: endedKs });
  } finally {
    await client.close();
  }
  secret(appTokenHash(widgetKs, appToken.token));
  secret(appTokenHash(widgetKs, WRONG_TOKEN));
});

afterAll(async () => {
  process.off('warning', onWarning);
  vi.restoreAllMocks();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function driveCore(): Promise<void> {
  const now = () => Date.now();
  for (const version of [1, 2] as KsVersion[]) {
    const ks = secret(createKs({ secret: ADMIN_SECRET, partnerId: PARTNER, userId: 'u', version }));
    const expired = secret(
      createKs({
        secret: ADMIN_SECRET,
        partnerId: PARTNER,
        expiresInSeconds: 1,
        version,
        now: () => 1_600_000_000_000,
      }),
    );
    const tampered = `${ks.slice(0, 30)}${ks[30] === 'A' ? 'B' : 'A'}${ks.slice(31)}`;
    await failure('verifyKs wrong secret', () => verifyKs(ks, { secrets: WRONG_SECRET, now }));
    await failure('verifyKs other partner', () =>
      verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: 1 }),
    );
    await failure('verifyKs expired', () => verifyKs(expired, { secrets: ADMIN_SECRET }));
    await failure('verifyKs tampered', () =>
      verifyKs(tampered, { secrets: [WRONG_SECRET, ADMIN_SECRET] }),
    );
    await failure('verifyKs unknown partner', () => verifyKs(ks, { secrets: () => undefined }));
    await failure('createKs bad user', () =>
      createKs({ secret: ADMIN_SECRET, partnerId: PARTNER, userId: `${ks};x`, version }),
    );
    await failure('createKs bad privileges', () =>
      createKs({
        secret: ADMIN_SECRET,
        partnerId: PARTNER,
        privileges: `sview:${ADMIN_SECRET};x`,
        version,
      }),
    );
    await failure('createKs bad additional data', () =>
      createKs({
        secret: ADMIN_SECRET,
        partnerId: PARTNER,
        additionalData: `${PASSWORD};`,
        version,
      }),
    );
  }
  for (const notAKs of [
    ADMIN_SECRET,
    PASSWORD,
    appToken.token,
    `${adminKs}!`,
    adminKs.slice(0, -6),
  ]) {
    await failure('decodeKs garbage', () => decodeKs(notAKs));
    await failure('verifyKs garbage', () => verifyKs(notAKs, { secrets: ADMIN_SECRET }));
  }
  await failure('verifyKs no secrets', () => verifyKs(adminKs, { secrets: [] }));
  await failure('appTokenHash bad type', () =>
    appTokenHash(widgetKs, appToken.token, 'BAD' as never),
  );
  await failure('appTokenHash no KS', () => appTokenHash('', appToken.token));
  await failure('appTokenHash no token', () => appTokenHash(widgetKs, ''));
  await failure('createKsIssuer two ways', () =>
    createKsIssuer({
      partnerId: PARTNER,
      adminSecret: ADMIN_SECRET,
      sessionStart: { secret: ADMIN_SECRET },
    }),
  );
  await failure('createKsIssuer no service URL', () =>
    createKsIssuer({ partnerId: PARTNER, appToken: appToken }),
  );
  await failure('createKsIssuer bad option', () =>
    createKsIssuer({ partnerId: PARTNER, adminSecret: ADMIN_SECRET, max: -1 }),
  );
  await failure('createKalturaClient credentials in URL', () =>
    createKalturaClient({ serviceUrl: `http://user:${ADMIN_SECRET}@127.0.0.1/api_v3` }),
  );
  await failure('createKalturaClient secret in query', () =>
    createKalturaClient({ serviceUrl: `http://127.0.0.1/api_v3?secret=${ADMIN_SECRET}` }),
  );
  await failure('createKalturaClient bad ks option', () =>
    createKalturaClient({ serviceUrl: emulator.url, ks: `${adminKs} ${PASSWORD}` }),
  );

  // The CLI, in process: every failing command, human and JSON output.
  const env = {
    KALTURA_SERVICE_URL: emulator.url,
    KALTURA_PARTNER_ID: String(PARTNER),
    KALTURA_ADMIN_SECRET: ADMIN_SECRET,
    KALTURA_USER_SECRET: USER_SECRET,
    KALTURA_APP_TOKEN_ID: appToken.id,
    KALTURA_APP_TOKEN: WRONG_TOKEN,
  };
  const expired = secret(
    createKs({ secret: ADMIN_SECRET, partnerId: PARTNER, now: () => 1_600_000_000_000 }),
  );
  const runs: [string[], Record<string, string>?][] = [
    [['mint', '--user-id', 'a;b']],
    [['mint', '--privileges', `x:${PASSWORD};y`, '--json']],
    [['mint', `--secrte=${ADMIN_SECRET}`]],
    [['mint'], { KALTURA_ADMIN_SECRET: '' }],
    [['verify', adminKs, '--secret', WRONG_SECRET]],
    [['verify', adminKs, '--secret', WRONG_SECRET, '--json']],
    [['verify', expired]],
    [['verify', userKs, '--partner-id', '1', '--json']],
    [['decode', PASSWORD]],
    [['decode', ADMIN_SECRET, '--json']],
    [['token-hash', widgetKs, '--hash-type', 'BAD']],
    [['session-start', '--secret', WRONG_SECRET]],
    [['session-start', '--secret', WRONG_SECRET, '--json']],
    [['session-start', '--user-secret', '--type', 'admin']],
    [['app-token', 'start-session', '--user-id', 'u']],
    [['app-token', 'start-session', '--json']],
    [['app-token', 'list', '--secret', WRONG_SECRET]],
    [['verify-remote', PASSWORD]],
    [['verify-remote', endedKs, '--secret', WRONG_SECRET]],
    [['verify-remote', `${adminKs}x`, '--json']],
    [['check']],
    [['check', '--json']],
    [['check', '--hash-type', PASSWORD]],
    [['check'], { KALTURA_ADMIN_SECRET: WRONG_SECRET, KALTURA_APP_TOKEN_HASH_TYPE: PASSWORD }],
    [['app-token', 'rotate', appToken.id, '--secret', WRONG_SECRET]],
    [['app-token', 'rotate', '0_nothere', '--json']],
  ];
  for (const [argv, extra] of runs) {
    let out = '';
    const code = await cliMain(argv, {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        out += t;
      },
      env: { ...env, ...extra },
      cwd: dir,
      readStdin: async () => '',
      now: Date.now,
      sleep: async () => true,
    });
    expect(code, `kaltura-ks ${argv[0]}: ${out}`).not.toBe(0);
    capture(`cli ${argv.slice(0, 2).join(' ')}`, out);
  }
}

async function driveClient(): Promise<void> {
  const events: KalturaClientEvent[] = [];
  const client = createKalturaClient({
    serviceUrl: emulator.url,
    partnerId: PARTNER,
    requestTimeoutMs: 300,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 100 },
    onEvent: (event) => events.push(event),
  });
  try {
    const expectApi = async (where: string, code: string, fn: () => Promise<unknown>) => {
      const error = await failure(where, fn);
      expect(error, where).toMatchObject({ kalturaCode: code });
    };
    await expectApi('client wrong secret', 'START_SESSION_ERROR', () =>
      client.session.start({ secret: WRONG_SECRET, type: KsType.ADMIN }),
    );
    await expectApi('client user secret for admin', 'START_SESSION_ERROR', () =>
      client.session.start({ secret: USER_SECRET, type: KsType.ADMIN }),
    );
    await expectApi('client wrong password', 'USER_WRONG_PASSWORD', () =>
      client.user.loginByLoginId({ loginId: LOGIN_ID, password: WRONG_PASSWORD }),
    );
    await expectApi('client password of another login', 'USER_WRONG_PASSWORD', () =>
      client.user.loginByLoginId({ loginId: 'nobody@example.com', password: PASSWORD }),
    );
    await expectApi('client wrong token', 'INVALID_APP_TOKEN_HASH', () =>
      client.startAppTokenSession({ appTokenId: appToken.id, appTokenValue: WRONG_TOKEN }),
    );
    await expectApi('client wrong token hash', 'INVALID_APP_TOKEN_HASH', () =>
      client.appToken.startSession(
        { id: appToken.id, tokenHash: appTokenHash(widgetKs, WRONG_TOKEN) },
        { ks: widgetKs },
      ),
    );
    await expectApi('client ended KS', 'INVALID_KS', () =>
      client.request('baseEntry', 'list', {}, { ks: endedKs }),
    );
    await expectApi('client garbage KS', 'INVALID_KS', () =>
      client.request('baseEntry', 'list', {}, { ks: `${adminKs.slice(0, -8)}AAAAAAAA` }),
    );
    await expectApi('client forbidden', 'SERVICE_FORBIDDEN', () =>
      client.appToken.list({}, {}, { ks: userKs }),
    );
    await expectApi('client session.get of garbage', 'INTERNAL_SERVERL_ERROR', () =>
      client.session.get({ session: PASSWORD }, { ks: adminKs }),
    );
    // Kaltura echoes the KS (INVALID_KS) and, were it ever to, a secret: the client redacts.
    emulator.faults.set({
      service: 'baseEntry',
      mode: 'kaltura-error',
      code: 'INVALID_KS',
      args: [userKs, '-1', 'INVALID_STR'],
    });
    await expectApi('client echoed KS', 'INVALID_KS', () =>
      client.request('baseEntry', 'list', {}, { ks: userKs }),
    );
    emulator.faults.set({
      service: 'session',
      action: 'start',
      mode: 'kaltura-error',
      code: 'START_SESSION_ERROR',
      args: [`${ADMIN_SECRET} ${encodeURIComponent(ADMIN_SECRET)}`],
    });
    await expectApi('client echoed secret', 'START_SESSION_ERROR', () =>
      client.session.start({ secret: ADMIN_SECRET }),
    );
    emulator.faults.set({
      service: 'user',
      mode: 'kaltura-error',
      code: 'USER_WRONG_PASSWORD',
      args: [PASSWORD],
    });
    await expectApi('client echoed password', 'USER_WRONG_PASSWORD', () =>
      client.user.loginByLoginId({ loginId: LOGIN_ID, password: PASSWORD }),
    );
    emulator.faults.clear();
    for (const rule of [
      { mode: 'http-5xx', status: 503 },
      { mode: 'reset' },
      { mode: 'hang' },
      { mode: 'malformed' },
      { mode: 'delay', latencyMs: 1_000 },
    ] as const) {
      emulator.faults.set(rule);
      await failure(`client fault ${rule.mode}`, () =>
        client.session.start({ secret: ADMIN_SECRET }),
      );
      await failure(`client fault ${rule.mode} (app token)`, () =>
        client.startAppTokenSession({ appTokenId: appToken.id, appTokenValue: appToken.token }),
      );
      emulator.faults.clear();
    }
  } finally {
    emulator.faults.clear();
    await client.close();
  }
  capture('client onEvent', ...events);
  expect(events.some((e) => e.type === 'failure')).toBe(true);
}

async function driveIssuer(): Promise<void> {
  const events: KsIssuerEvent[] = [];
  const onEvent = (event: KsIssuerEvent) => events.push(event);
  const common = { partnerId: PARTNER, serviceUrl: emulator.url, mintTimeoutMs: 300, onEvent };
  const issuers = [
    createKsIssuer({ ...common, sessionStart: { secret: WRONG_SECRET } }),
    createKsIssuer({ ...common, appToken: { id: appToken.id, token: WRONG_TOKEN } }),
    createKsIssuer({ ...common, appToken: { id: 'unknown_id', token: appToken.token } }),
    createKsIssuer({ partnerId: PARTNER, adminSecret: ADMIN_SECRET, onEvent }),
  ];
  try {
    for (const issuer of issuers.slice(0, 3)) {
      const error = await failure(`issuer ${issuer.kind}`, () => issuer.getKs({ userId: 'u' }));
      // A wrong secret, a wrong token value, an unknown token: Kaltura refuses the credentials.
      expect(isKsError(error, 'ERR_KS_CREDENTIALS')).toBe(true);
      await failure(`issuer ${issuer.kind} backing off`, () => issuer.getKs({ userId: 'u' }));
    }
    const local = issuers[3]!;
    await failure('issuer local bad user', () => local.getKs({ userId: `${ADMIN_SECRET};x` }));
    await failure('issuer local bad privileges', () =>
      local.getKs({ userId: 'u', privileges: `x:${PASSWORD};` }),
    );
    secret((await local.getKs({ userId: 'evicted' })).ks);
    await local.revoke('evicted');
  } finally {
    await Promise.all(issuers.map((issuer) => issuer.close()));
  }
  capture('issuer onEvent', ...events);
  expect(events.some((e) => e.type === 'mint-error')).toBe(true);
}

async function driveRoute(): Promise<void> {
  const rejected: unknown[] = [];
  const getUser = jwtUser({
    secret: JWT_SECRET,
    issuer: 'hygiene',
    audience: 'hygiene',
    onReject: (reason) => rejected.push(reason),
  });
  const sign = (claims: Record<string, unknown>, key = JWT_SECRET) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('hygiene')
      .setAudience('hygiene')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(key));
  const jwt = secret(await sign({ sub: 'alice' }));
  const forged = secret(await sign({ sub: 'alice' }, `${WRONG_SECRET}-0123456789abcdef`));
  const routes = await Promise.all([
    startRoute({ partnerId: PARTNER, adminSecret: ADMIN_SECRET, getUser }),
    startRoute({
      partnerId: PARTNER,
      serviceUrl: emulator.url,
      sessionStart: { secret: WRONG_SECRET },
      getUser,
    }),
    startRoute({
      partnerId: PARTNER,
      serviceUrl: emulator.url,
      appToken: { id: appToken.id, token: WRONG_TOKEN },
      getUser,
    }),
    startRoute({
      partnerId: PARTNER,
      serviceUrl: emulator.url,
      appToken,
      getUser,
      mintTimeoutMs: 300,
    }),
    // No onWarning: the allowAdminKs warning goes to process.emitWarning.
    startRoute({
      partnerId: PARTNER,
      adminSecret: ADMIN_SECRET,
      allowAdminKs: true,
      onWarning: undefined,
      getUser,
    }),
  ]);
  try {
    const [local, wrongSecret, wrongToken, echoing] = routes;
    const bearer = { authorization: `Bearer ${jwt}` };
    const statuses: number[] = [];
    const get = async (
      where: string,
      route: (typeof routes)[0],
      headers: Record<string, string>,
      method = 'GET',
    ) => {
      const answer = captureAnswer(where, await httpRequestOnce(route.url, { method, headers }));
      statuses.push(answer.status);
    };
    await get('route no user', local, {});
    await get('route forged JWT', local, { authorization: `Bearer ${forged}` });
    await get('route garbage JWT', local, {
      authorization: `Bearer ${ADMIN_SECRET}.${PASSWORD}.x`,
    });
    await get('route cross-site', local, { ...bearer, 'sec-fetch-site': 'cross-site' });
    await get('route POST', local, bearer, 'POST');
    await get('route wrong secret', wrongSecret, bearer);
    await get('route wrong token', wrongToken, bearer);
    // Kaltura echoing the widget KS, the token hash and the token in its error.
    emulator.faults.set({
      service: 'appToken',
      action: 'startSession',
      mode: 'kaltura-error',
      code: 'INVALID_APP_TOKEN_HASH',
      args: [widgetKs, appTokenHash(widgetKs, appToken.token), appToken.token],
    });
    await get('route echoing Kaltura', echoing, bearer);
    emulator.faults.clear();
    expect(statuses).toEqual([401, 401, 401, 403, 405, 503, 503, 503]);
    for (const route of routes) capture('route errors', ...route.errors);
  } finally {
    emulator.faults.clear();
    await Promise.all(routes.map((route) => route.close()));
  }
  capture('jwtUser onReject', ...rejected);
  expect(rejected.length).toBeGreaterThan(0);
}

async function driveEmulator(): Promise<void> {
  const post = async (
    where: string,
    path: string,
    fields: Record<string, string>,
    type = 'form',
  ) => {
    const body =
      type === 'form'
        ? new URLSearchParams({ format: '1', ...fields }).toString()
        : JSON.stringify({ format: 1, ...fields });
    return captureAnswer(
      where,
      await httpRequestOnce(`${emulator.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type':
            type === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
        },
        body,
      }),
    );
  };
  await post('emulator wrong secret', '/service/session/action/start', {
    secret: WRONG_SECRET,
    partnerId: String(PARTNER),
    type: '2',
  });
  await post('emulator user secret admin', '/service/session/action/start', {
    secret: USER_SECRET,
    partnerId: String(PARTNER),
    type: '2',
  });
  await post('emulator wrong password', '/service/user/action/loginByLoginId', {
    loginId: LOGIN_ID,
    password: WRONG_PASSWORD,
    partnerId: String(PARTNER),
  });
  await post('emulator password, other login', '/service/user/action/loginByLoginId', {
    loginId: 'x@example.com',
    password: PASSWORD,
    partnerId: String(PARTNER),
  });
  await post('emulator wrong hash', '/service/appToken/action/startSession', {
    ks: widgetKs,
    id: appToken.id,
    tokenHash: appTokenHash(widgetKs, WRONG_TOKEN),
  });
  await post('emulator ended KS', '/service/baseEntry/action/list', { ks: endedKs });
  await post('emulator garbage KS', '/service/baseEntry/action/list', {
    ks: `${adminKs}${PASSWORD}`,
  });
  await post('emulator forbidden', '/service/appToken/action/list', { ks: userKs });
  await post('emulator session.get garbage', '/service/session/action/get', {
    ks: adminKs,
    session: `${userKs}x`,
  });
  await post(
    'emulator bad privileges',
    '/service/session/action/start',
    { secret: ADMIN_SECRET, partnerId: String(PARTNER), privileges: `x:${PASSWORD};y` },
    'json',
  );
  await post('emulator multirequest', '/service/multirequest', {
    '1:service': 'session',
    '1:action': 'start',
    '1:secret': WRONG_SECRET,
    '1:partnerId': String(PARTNER),
    '2:service': 'baseEntry',
    '2:action': 'list',
    '2:ks': endedKs,
  });
  captureAnswer(
    'emulator bad JSON',
    await httpRequestOnce(`${emulator.url}/service/session/action/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"secret":"${ADMIN_SECRET}","password":"${PASSWORD}",`,
    }),
  );
  captureAnswer(
    'emulator path with a KS',
    await httpRequestOnce(`${emulator.origin}/elsewhere/ks/${encodeURIComponent(adminKs)}`),
  );
  captureAnswer(
    'emulator bad parameter char',
    await httpRequestOnce(
      `${emulator.url}/service/session/action/start?secret=${encodeURIComponent(ADMIN_SECRET)}%01&partnerId=${PARTNER}`,
    ),
  );

  // The emulator's CLI: a config file with secrets and a password, and bad ones.
  const config = join(dir, 'emulator.json');
  writeFileSync(
    config,
    JSON.stringify({
      partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
      users: [{ partnerId: PARTNER, loginId: LOGIN_ID, password: PASSWORD, userId: 'u' }],
    }),
  );
  const badSecret = join(dir, 'bad-secret.json');
  writeFileSync(
    badSecret,
    JSON.stringify({
      partners: [{ id: 1, adminSecret: `${ADMIN_SECRET},x`, userSecret: USER_SECRET }],
    }),
  );
  const notJson = join(dir, 'not-json.json');
  writeFileSync(notJson, `{"partners":[{"adminSecret":"${ADMIN_SECRET}"`);
  const badUser = join(dir, 'bad-user.json');
  writeFileSync(
    badUser,
    JSON.stringify({
      users: [{ partnerId: 999, loginId: LOGIN_ID, password: PASSWORD, userId: 'u' }],
    }),
  );
  for (const argv of [
    ['--config', config, '--json', '--print-secrets'],
    ['--config', config, '--print-secrets', '--write-env', join(dir, 'emulator.env')],
    ['--config', badSecret],
    ['--config', notJson],
    ['--config', badUser],
    ['--port', 'x', '--config', config],
  ]) {
    let out = '';
    const stop = new AbortController();
    stop.abort(); // stop as soon as it has started (or failed)
    await emulatorMain(argv, {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        out += t;
      },
      cwd: dir,
      signal: stop.signal,
    });
    capture(`emulator cli ${argv.join(' ')}`, out);
  }
}

async function driveBrowser(): Promise<void> {
  const bodies: [number, string, Record<string, string>][] = [
    [
      500,
      `{"error":{"code":"X","message":"${ADMIN_SECRET} ${userKs}"}}`,
      { 'content-type': 'application/json' },
    ],
    [
      200,
      JSON.stringify({ ks: userKs, partnerId: 'x', note: PASSWORD }),
      { 'content-type': 'application/json' },
    ],
    [200, `{"ks":"${userKs}"`, { 'content-type': 'application/json' }],
    [503, userKs, { 'retry-after': '1', 'x-debug': ADMIN_SECRET }],
    [401, `Unauthorized: ${userKs}`, {}],
    [403, PASSWORD, {}],
    [302, '', { location: `https://elsewhere.example/?ks=${userKs}` }],
  ];
  let next = 0;
  let server: Listening | undefined;
  server = await listen(((req, res) => {
    if (req.url?.includes('hang')) return; // never answers
    if (req.url?.includes('reset')) return req.socket.resetAndDestroy();
    const [status, body, headers] = bodies[next++ % bodies.length]!;
    res.writeHead(status, headers).end(body);
  }) as RequestListener);
  try {
    for (const path of ['/ks', '/ks?reset', '/ks?hang']) {
      const client = createKsClient({
        url: `${server.origin}${path}`,
        crossTab: false,
        requestTimeoutMs: 150,
      });
      const events: unknown[] = [];
      client.subscribe((event) => events.push(event));
      try {
        const rounds = path === '/ks' ? bodies.length : 1;
        for (let i = 0; i < rounds; i++) await failure(`browser ${path}`, () => client.getKs());
      } finally {
        client.stop();
      }
      capture(`browser events ${path}`, ...events);
    }
    const stopped = createKsClient({ url: `${server.origin}/ks`, crossTab: false });
    stopped.stop();
    await failure('browser stopped', () => stopped.getKs());
    await failure('browser bad option', () =>
      createKsClient({ url: `/ks?ks=${userKs}`, refreshAtFraction: 2 }),
    );
  } finally {
    await server?.close();
    server = undefined;
  }
}

/** The demo app (apps/demo) is not a dependency of this package: it is loaded by path. */
interface DemoModule {
  createDemoApp(options: {
    config: {
      expiresInSeconds: number;
      sessionSecret: Uint8Array;
      strategy: 'local' | 'session-start' | 'app-token';
      defaultUserId?: string;
      playerId?: number;
      entryId?: string;
    };
    kaltura: {
      issuerOptions: Record<string, unknown>;
      verifySecrets?: readonly string[];
      description: { backend: string; partnerId: number; strategy: string; serviceUrl: string };
    };
    assets: { html: string; js: string; css: string };
    log?: (line: string) => void;
  }): { app: unknown; close(): Promise<void> };
}
interface DemoConfigModule {
  loadConfig(env: Record<string, string | undefined>): unknown;
}

async function driveDemo(): Promise<void> {
  const demoUrl = (file: string) =>
    new URL(`../../../../apps/demo/src/${file}`, import.meta.url).href;
  const { createDemoApp } = (await import(/* @vite-ignore */ demoUrl('server.ts'))) as DemoModule;
  const { loadConfig } = (await import(
    /* @vite-ignore */ demoUrl('config.ts')
  )) as DemoConfigModule;

  const logs: string[] = [];
  const description = {
    backend: 'emulator',
    partnerId: PARTNER,
    strategy: 'x',
    serviceUrl: emulator.url,
  };
  const config = {
    expiresInSeconds: 60,
    sessionSecret: new TextEncoder().encode(JWT_SECRET),
    strategy: 'local' as const,
  };
  const assets = { html: '<!doctype html>', js: '', css: '' };
  const demos = [
    createDemoApp({
      config,
      kaltura: {
        issuerOptions: { partnerId: PARTNER, adminSecret: ADMIN_SECRET },
        verifySecrets: [ADMIN_SECRET],
        description,
      },
      assets,
      log: (line) => logs.push(line),
    }),
    createDemoApp({
      config,
      kaltura: {
        issuerOptions: {
          partnerId: PARTNER,
          serviceUrl: emulator.url,
          sessionStart: { secret: WRONG_SECRET },
        },
        description,
      },
      assets,
      log: (line) => logs.push(line),
    }),
  ];
  const servers = await Promise.all(demos.map((demo) => listen(demo.app as RequestListener)));
  try {
    const [good, bad] = servers as [Listening, Listening];
    const login = await httpRequestOnce(`${good.origin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'user=hygiene-user',
    });
    const cookie = secret(String(login.headers['set-cookie']?.[0]?.split(';')[0]));
    const json = { 'content-type': 'application/json', cookie };
    const otherKs = secret(
      createKs({ secret: ADMIN_SECRET, partnerId: PARTNER, userId: 'someone-else' }),
    );
    const calls: [Listening, string, string, Record<string, string>, string?][] = [
      [good, 'POST', '/api/ks/inspect', json, JSON.stringify({ ks: otherKs })],
      [
        good,
        'POST',
        '/api/ks/inspect',
        json,
        JSON.stringify({ ks: `${otherKs.slice(0, -4)}AAAA` }),
      ],
      [good, 'POST', '/api/ks/inspect', json, JSON.stringify({ ks: ADMIN_SECRET })],
      [good, 'POST', '/api/ks/inspect', json, `{"ks":"${PASSWORD}",`],
      [
        good,
        'POST',
        '/api/ks/inspect',
        json,
        JSON.stringify({ ks: 'x'.repeat(10_000) + PASSWORD }),
      ],
      [
        good,
        'POST',
        '/api/ks/inspect',
        { 'content-type': 'application/json' },
        JSON.stringify({ ks: otherKs }),
      ],
      [
        good,
        'POST',
        '/login',
        { 'content-type': 'application/x-www-form-urlencoded' },
        `user=${encodeURIComponent(`${PASSWORD};`)}`,
      ],
      [
        good,
        'POST',
        '/login',
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        `user=x`,
      ],
      [good, 'POST', '/logout', { cookie, origin: 'https://evil.example' }],
      [good, 'GET', '/kaltura/ks', { cookie, 'sec-fetch-site': 'cross-site' }],
      [good, 'GET', '/kaltura/ks', { cookie: `demo_session=${JWT_SECRET}` }],
      [bad, 'GET', '/kaltura/ks', { cookie }],
    ];
    for (const [server, method, path, headers, body] of calls) {
      const answer = captureAnswer(
        `demo ${method} ${path}`,
        await httpRequestOnce(`${server.origin}${path}`, { method, headers, body }),
      );
      expect(answer.status, `${path}: ${answer.text}`).toBeGreaterThanOrEqual(400);
    }
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(demos.map((demo) => demo.close()));
  }
  capture('demo log', ...logs);
  expect(logs.length).toBeGreaterThan(0);

  for (const env of [
    {
      KALTURA_SERVICE_URL: 'https://kaltura.example',
      KALTURA_PARTNER_ID: '1',
      KALTURA_ADMIN_SECRET: ADMIN_SECRET,
      KS_STRATEGY: 'bogus',
    },
    { KALTURA_SERVICE_URL: `https://user:${ADMIN_SECRET}@`, KALTURA_PARTNER_ID: '1' },
    { KALTURA_ADMIN_SECRET: ADMIN_SECRET },
    { KALTURA_APP_TOKEN: appToken.token },
    {
      KALTURA_APP_TOKEN_ID: 'x',
      KALTURA_APP_TOKEN: appToken.token,
      KALTURA_APP_TOKEN_HASH_TYPE: PASSWORD,
    },
    { DEMO_SESSION_SECRET: 'HYGIENE-SHORT' },
    // (A secret in the wrong variable is echoed: see bug-misplaced-secret-echo.test.ts.)
  ]) {
    secret('HYGIENE-SHORT');
    await failure('demo loadConfig', () => loadConfig(env));
  }
}

describe('secret hygiene across every package', () => {
  it('no credential appears in any error, answer, event, log or console output', async () => {
    await driveCore();
    await driveClient();
    await driveIssuer();
    await driveRoute();
    await driveEmulator();
    await driveBrowser();
    await driveDemo();

    expect(captured.length).toBeGreaterThan(200);
    const leaks: string[] = [];
    for (const { where, text } of captured) {
      for (const value of credentials) {
        if (text.includes(value) || text.includes(encodeURIComponent(value))) {
          leaks.push(`${where}: ${value.slice(0, 24)}… in ${JSON.stringify(text.slice(0, 300))}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  }, 60_000);
});
