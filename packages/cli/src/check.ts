import {
  createKs,
  decodeKs,
  isKsError,
  KalturaApiError,
  KsError,
  KsType,
  type KsVersion,
  parsePrivileges,
  verifyKs,
} from '@kaltura-ks/core';
import type { KalturaClient } from '@kaltura-ks/core/client';
import {
  type Asked,
  type Carried,
  HINTS,
  reportText,
  type Way,
  type WayReport,
} from './check-report.js';
import { SERVICE, withClient } from './client.js';
import {
  type Command,
  HASH_TYPE,
  hashType,
  ksType,
  PARTNER,
  type ParsedArgs,
  print,
  str,
} from './command.js';
import { typeName } from './format.js';
import { type CliIo, UsageError } from './io.js';

/** Lifetime of the sessions a check starts: long enough to list entries, short if one leaked. */
const CHECK_SESSION_SECONDS = 120;

/** Names an app token adds to every session for its own bookkeeping. */
const BOOKKEEPING = new Set(['sessionid', 'apptoken']);

/**
 * The asked privileges the session lacks (a name it does not carry, or a value it carries
 * neither as asked nor as `*`), and the names it carries beyond those asked.
 */
function comparePrivileges(
  asked: string,
  carried: string,
  version: KsVersion,
): { missing: string[]; extra: string[] } {
  const want = parsePrivileges(asked, { version });
  const have = parsePrivileges(carried, { version });
  const missing: string[] = [];
  for (const [name, values] of want) {
    const granted = have.get(name);
    if (granted === undefined) missing.push(name);
    else if (!granted.includes('*') && values.some((v) => !granted.includes(v)))
      missing.push(`${name}:${values.join('/')}`);
  }
  const extra = [...have.keys()].filter((name) => !want.has(name) && !BOOKKEEPING.has(name));
  return { missing, extra };
}

/** Kaltura's clock minus ours, from system.getTime (whole seconds) halfway through the call. */
async function measureClock(client: KalturaClient, io: CliIo) {
  const before = io.now();
  const kalturaSeconds = await client.system.getTime();
  const after = io.now();
  const offsetMs = Math.round(kalturaSeconds * 1000 + 500 - (before + after) / 2);
  return { offsetMs, uncertaintyMs: Math.round(500 + (after - before) / 2) };
}

function errorOf(error: unknown): NonNullable<WayReport['error']> {
  if (error instanceof KalturaApiError)
    return { code: error.code, kalturaCode: error.kalturaCode, message: error.message };
  if (isKsError(error)) return { code: error.code, message: error.message };
  throw error;
}

/** Starts a session one way, lists entries with it, and compares what it carries with what was asked. */
async function tryWay(
  way: Way,
  label: string,
  asked: Asked,
  partner: number,
  client: KalturaClient,
  start: () => Promise<{ ks: string; carried: Carried }>,
): Promise<WayReport> {
  const report: WayReport = { way, label, ok: false };
  try {
    const { ks, carried } = await start();
    report.session = { partnerId: carried.partnerId, userId: carried.userId, type: carried.type };
    const problems: string[] = [];
    if (carried.partnerId !== partner)
      problems.push(`partner ${carried.partnerId}, not ${partner}`);
    if (carried.userId !== undefined && carried.userId !== asked.userId)
      problems.push(`user ${JSON.stringify(carried.userId)}, not ${JSON.stringify(asked.userId)}`);
    if (carried.type !== undefined && carried.type !== asked.type)
      problems.push(`type ${typeName(carried.type)}, not ${typeName(asked.type)}`);
    if (carried.privileges === undefined) {
      report.privileges = { asked: asked.privileges, carried: null, missing: [], extra: [] };
    } else {
      const compared = comparePrivileges(asked.privileges, carried.privileges, carried.version);
      report.privileges = { asked: asked.privileges, carried: carried.privileges, ...compared };
      if (compared.missing.length > 0)
        problems.push(`privileges without ${compared.missing.join(', ')}`);
    }
    const list = (await client.request(
      'baseEntry',
      'list',
      { pager: { pageSize: 1 } },
      { ks, idempotent: true },
    )) as { totalCount?: unknown } | null;
    const total = Number(list?.totalCount);
    if (!Number.isSafeInteger(total) || total < 0)
      throw new KsError('ERR_KS_RESPONSE', 'baseEntry.list answered without a totalCount');
    report.entries = total;
    if (problems.length > 0) {
      report.problems = problems;
      report.error = {
        code: 'ERR_KS_NOT_GRANTED',
        message: `Kaltura issued a session with ${problems.join('; ')}`,
      };
    } else report.ok = true;
  } catch (error) {
    report.error = errorOf(error);
  }
  const code = report.error?.kalturaCode ?? report.error?.code;
  if (code !== undefined && HINTS[code] !== undefined) report.hint = HINTS[code];
  return report;
}

export const check: Command = {
  name: 'check',
  summary:
    'Check every configured way to mint: start a session, list entries with it, compare it with what was asked.',
  usage: 'check [options]',
  options: {
    ...SERVICE,
    'partner-id': PARTNER['partner-id']!,
    'user-id': [
      { type: 'string', short: 'u' },
      'User to start sessions for (default kaltura-ks-check)',
    ],
    type: [{ type: 'string', short: 't' }, 'user (default) or admin'],
    privileges: [
      { type: 'string' },
      'Privileges to ask for, e.g. "sview:*" (what your server asks)',
    ],
    ...HASH_TYPE,
  },
  notes: `The ways are the ones configured (environment, .env or --dotenv): KALTURA_ADMIN_SECRET
(session.start, and signing here), KALTURA_USER_SECRET (session.start, USER sessions), and
KALTURA_APP_TOKEN_ID + KALTURA_APP_TOKEN (+ KALTURA_APP_TOKEN_HASH_TYPE). Exit code 0 when every
one works, 1 when one fails (with Kaltura's error code), 2 when nothing is configured.`,
  async run(args, io) {
    const asked: Asked = {
      userId: str(args, 'user-id') ?? 'kaltura-ks-check',
      type: ksType(str(args, 'type')) ?? KsType.USER,
      privileges: str(args, 'privileges') ?? '',
    };
    const adminSecret = args.settings.get(undefined, 'KALTURA_ADMIN_SECRET');
    const userSecret = args.settings.get(undefined, 'KALTURA_USER_SECRET');
    const appToken = appTokenSettings(args);
    if (adminSecret === undefined && userSecret === undefined && appToken === undefined)
      throw new UsageError(
        'Nothing to check: set KALTURA_ADMIN_SECRET, KALTURA_USER_SECRET or KALTURA_APP_TOKEN_ID and KALTURA_APP_TOKEN (environment or .env)',
      );
    const report = await withClient(args, io, async (client, partner) => {
      const clock = await measureClock(client, io);
      const kalturaNow = () => io.now() + clock.offsetMs;
      /** What a KS says, read with the admin secret where there is one. */
      const read = (ks: string): Carried => {
        if (adminSecret !== undefined) {
          const fields = verifyKs(ks, {
            secrets: adminSecret,
            partnerId: partner,
            now: kalturaNow,
          });
          return { ...fields, privileges: fields.privileges };
        }
        const decoded = decodeKs(ks);
        return decoded.version === 1 ? decoded : { partnerId: decoded.partnerId, version: 2 };
      };
      const sessionStart = async (secret: string, type: KsType) => {
        const ks = await client.session.start({
          secret,
          partnerId: partner,
          userId: asked.userId,
          type,
          privileges: asked.privileges,
          expiresInSeconds: CHECK_SESSION_SECONDS,
        });
        return { ks, carried: read(ks) };
      };
      const ways: WayReport[] = [];
      if (adminSecret !== undefined) {
        ways.push(
          await tryWay('admin-secret', 'admin secret (session.start)', asked, partner, client, () =>
            sessionStart(adminSecret, asked.type),
          ),
        );
        ways.push(
          await tryWay(
            'local-signing',
            'admin secret (signed here, as the issuer does by default)',
            asked,
            partner,
            client,
            async () => {
              const ks = createKs({
                secret: adminSecret,
                partnerId: partner,
                userId: asked.userId,
                type: asked.type,
                privileges: asked.privileges,
                expiresInSeconds: CHECK_SESSION_SECONDS,
                now: io.now,
              });
              return { ks, carried: read(ks) };
            },
          ),
        );
      }
      if (userSecret !== undefined) {
        const userAsked = { ...asked, type: KsType.USER };
        ways.push(
          await tryWay(
            'user-secret',
            'user secret (session.start, USER sessions only)',
            userAsked,
            partner,
            client,
            () => sessionStart(userSecret, KsType.USER),
          ),
        );
      }
      if (appToken !== undefined) {
        ways.push(
          await tryWay(
            'app-token',
            `app token ${appToken.id} (${appToken.hashType})`,
            asked,
            partner,
            client,
            async () => {
              const info = await client.startAppTokenSession({
                appTokenId: appToken.id,
                appTokenValue: appToken.token,
                hashType: appToken.hashType,
                userId: asked.userId,
                type: asked.type,
                privileges: asked.privileges,
                expiresInSeconds: CHECK_SESSION_SECONDS,
              });
              // Kaltura's answer describes the KS; with the admin secret, read the KS itself.
              const carried: Carried =
                adminSecret === undefined
                  ? {
                      partnerId: info.partnerId,
                      userId: info.userId,
                      type: info.sessionType,
                      privileges: info.privileges,
                      version: decodeKs(info.ks).version,
                    }
                  : read(info.ks);
              return { ks: info.ks, carried };
            },
          ),
        );
      }
      return {
        ok: ways.every((w) => w.ok),
        serviceUrl: client.serviceUrl,
        partnerId: partner,
        clock,
        asked,
        ways,
      };
    });
    print(io, args, report, reportText(report));
    return report.ok ? 0 : 1;
  },
};

function appTokenSettings(args: ParsedArgs) {
  const id = args.settings.get(undefined, 'KALTURA_APP_TOKEN_ID');
  const token = args.settings.get(undefined, 'KALTURA_APP_TOKEN');
  if (id === undefined && token === undefined) return undefined;
  if (id === undefined || token === undefined)
    throw new UsageError(
      `${id === undefined ? 'KALTURA_APP_TOKEN' : 'KALTURA_APP_TOKEN_ID'} is set without ${id === undefined ? 'KALTURA_APP_TOKEN_ID' : 'KALTURA_APP_TOKEN'}`,
    );
  return { id, token, hashType: hashType(args) };
}
