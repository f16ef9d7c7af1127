import { randomBytes } from 'node:crypto';
import {
  AppTokenHashType,
  appTokenHash,
  buildPrivileges,
  createKs,
  KALTURA_SERVER_PRIVILEGES,
  type PrivilegeMap,
  parsePrivileges,
  validatePrivilegesString,
} from '@kaltura-ks/core';
import { apiError } from '../errors.js';
import { type Params, phpInt } from '../params.js';
import { issueKs } from '../session.js';
import { type AppTokenRecord, AppTokenStatus, type PartnerRecord } from '../state.js';
import {
  type ActionDefinition,
  type CallContext,
  defineAction,
  SESSION_TYPE_ENUM,
  SESSION_TYPES,
} from './define.js';

const HASH_TYPES = Object.values(AppTokenHashType);
const STATUSES: readonly number[] = Object.values(AppTokenStatus);
const RESERVED = new Set(KALTURA_SERVER_PRIVILEGES);
/** Kaltura's `max_relative_time` (configurations/base.ini, 10 years) [UNCONFIRMED for every deployment]. */
const MAX_RELATIVE_TIME = 315_360_000;
/** kuser::PUSER_ID_REGEXP: what a *new* user's id may look like (spec §6). */
const PUSER_ID = /^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$/;

/**
 * A `time` field (Kaltura's `kTime::getRelativeTime`): small values are relative to now,
 * so `expiry=3600` means "in an hour"; `-1` and large values are absolute.
 */
function relativeTime(text: string, nowSeconds: number): number {
  if (text.length === 0) return 0;
  const value = phpInt(text);
  if (value === -1) return value;
  return value >= -MAX_RELATIVE_TIME && value <= MAX_RELATIVE_TIME ? nowSeconds + value : value;
}

/** PHP `trim`'s default character set. */
function phpTrim(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: PHP's trim set includes NUL and VT
  return text.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
}

/** Fields of a `KalturaAppToken` the caller may write: undefined = not sent, null = `field__null`. */
interface AppTokenInput {
  expiry?: number | null;
  sessionType?: number | null;
  sessionUserId?: string | null;
  sessionDuration?: number | null;
  sessionPrivileges?: string | null;
  hashType?: AppTokenHashType | null;
  description?: string | null;
}

function field<T>(p: Params, name: string, read: () => T | undefined): T | null | undefined {
  if (p.isNulled(name)) return null;
  return read();
}

/** Reads a `KalturaAppToken` object; read-only fields (id, token, status…) are ignored. */
function parseAppToken(p: Params, nowSeconds: number): AppTokenInput {
  return {
    expiry: field(p, 'expiry', () => {
      const text = p.string('expiry');
      return text === undefined ? undefined : relativeTime(text, nowSeconds);
    }),
    sessionType: field(p, 'sessionType', () =>
      p.intEnum('sessionType', SESSION_TYPES, SESSION_TYPE_ENUM),
    ),
    sessionUserId: field(p, 'sessionUserId', () => p.string('sessionUserId')),
    sessionDuration: field(p, 'sessionDuration', () => p.int('sessionDuration')),
    sessionPrivileges: field(p, 'sessionPrivileges', () => p.string('sessionPrivileges')),
    hashType: field(p, 'hashType', () =>
      p.stringEnum('hashType', HASH_TYPES, 'KalturaAppTokenHashType'),
    ),
    description: field(p, 'description', () => p.string('description')),
  };
}

/**
 * Checks what Kaltura checks (a new user's id must match PUSER_ID_REGEXP) and what the
 * emulator adds: the token's user id and privileges must be ones core will sign, so the
 * token cannot mint a KS whose fields were smuggled in (spec §6).
 */
function validateInput(input: AppTokenInput, partner: PartnerRecord, context: CallContext): void {
  const userId = input.sessionUserId;
  if (typeof userId === 'string') {
    const known = context.state.hasUser(partner.id, userId);
    let signable = true;
    try {
      createKs({ secret: 'probe', partnerId: partner.id, userId });
    } catch {
      signable = false;
    }
    if ((!known && !PUSER_ID.test(userId)) || !signable)
      throw apiError('INVALID_FIELD_VALUE', 'sessionUserId');
  }
  if (typeof input.sessionPrivileges === 'string') {
    try {
      validatePrivilegesString(input.sessionPrivileges, partner.ksVersion);
    } catch {
      throw apiError('INVALID_FIELD_VALUE', 'sessionPrivileges');
    }
  }
}

/** The `KalturaAppToken` JSON: fields in declaration order, nulls left out. */
function toApi(token: AppTokenRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: token.id,
    token: token.token,
    partnerId: token.partnerId,
    createdAt: token.createdAt,
    updatedAt: token.updatedAt,
    status: token.status,
    expiry: token.expiry,
    sessionType: token.sessionType,
    sessionUserId: token.sessionUserId,
    sessionDuration: token.sessionDuration,
    sessionPrivileges: token.sessionPrivileges,
    hashType: token.hashType,
    description: token.description,
  };
  for (const key of Object.keys(out)) if (out[key] === null) delete out[key];
  out.objectType = 'KalturaAppToken';
  return out;
}

function requirePartner(context: CallContext): PartnerRecord {
  if (context.partner === undefined) throw apiError('MISSING_KS');
  return context.partner;
}

/** Tokens are looked up within the caller's partner, as Kaltura's partner filter does. */
function findToken(context: CallContext, id: string): AppTokenRecord {
  const token = context.state.appTokens.get(id);
  if (token === undefined || token.partnerId !== context.partner?.id)
    throw apiError('APP_TOKEN_ID_NOT_FOUND', id);
  return token;
}

const add = defineAction({
  service: 'appToken',
  action: 'add',
  access: 'admin',
  partner: 'known',
  parse: (p, context) => parseAppToken(p.requiredObject('appToken'), context.nowSeconds),
  async run(input, context) {
    const partner = requirePartner(context);
    validateInput(input, partner, context);
    const now = context.nowSeconds;
    const token: AppTokenRecord = {
      id: context.state.newAppTokenId(),
      token: randomBytes(16).toString('hex'),
      partnerId: partner.id,
      createdAt: now,
      updatedAt: now,
      status: AppTokenStatus.ACTIVE,
      expiry: input.expiry ?? null,
      sessionType: input.sessionType ?? null,
      sessionUserId: input.sessionUserId ?? null,
      // Kaltura defaults the duration to the partner's maximum KS expiry.
      sessionDuration: input.sessionDuration ?? partner.maxKsExpirySeconds,
      sessionPrivileges: input.sessionPrivileges ?? null,
      hashType: input.hashType ?? AppTokenHashType.SHA1,
      description: input.description ?? null,
    };
    context.state.appTokens.set(token.id, token);
    await context.state.save();
    return toApi(token);
  },
});

const get = defineAction({
  service: 'appToken',
  action: 'get',
  access: 'admin',
  partner: 'known',
  parse: (p) => ({ id: p.requiredString('id') }),
  run: (args, context) => toApi(findToken(context, args.id)),
});

const update = defineAction({
  service: 'appToken',
  action: 'update',
  access: 'admin',
  partner: 'known',
  parse: (p, context) => ({
    id: p.requiredString('id'),
    input: parseAppToken(p.requiredObject('appToken'), context.nowSeconds),
  }),
  async run({ id, input }, context) {
    const token = findToken(context, id);
    validateInput(input, requirePartner(context), context);
    if (input.expiry !== undefined) token.expiry = input.expiry;
    if (input.sessionType !== undefined) token.sessionType = input.sessionType;
    if (input.sessionUserId !== undefined) token.sessionUserId = input.sessionUserId;
    if (input.sessionDuration !== undefined) token.sessionDuration = input.sessionDuration;
    if (input.sessionPrivileges !== undefined) token.sessionPrivileges = input.sessionPrivileges;
    if (input.hashType !== undefined) token.hashType = input.hashType ?? AppTokenHashType.SHA1;
    if (input.description !== undefined) token.description = input.description;
    token.updatedAt = context.nowSeconds;
    await context.state.save();
    return toApi(token);
  },
});

/** appToken.delete: status DELETED, and every KS carrying `sessionid:<id>` is revoked (spec §4.7). */
const remove = defineAction({
  service: 'appToken',
  action: 'delete',
  access: 'admin',
  partner: 'known',
  parse: (p) => ({ id: p.requiredString('id') }),
  async run(args, context) {
    const token = findToken(context, args.id);
    token.status = AppTokenStatus.DELETED;
    token.updatedAt = context.nowSeconds;
    context.state.revokeSessionId(token.partnerId, token.id);
    await context.state.save();
    return null;
  },
});

interface ListFilter {
  idEqual?: string;
  idIn?: string[];
  createdAtGreaterThanOrEqual?: number;
  createdAtLessThanOrEqual?: number;
  updatedAtGreaterThanOrEqual?: number;
  updatedAtLessThanOrEqual?: number;
  statusEqual?: number;
  statusIn?: number[];
  sessionUserIdEqual?: string;
}

function parseFilter(p: Params | undefined, nowSeconds: number): ListFilter {
  if (p === undefined) return {};
  const time = (name: string) => {
    const text = p.string(name);
    return text === undefined ? undefined : relativeTime(text, nowSeconds);
  };
  const filter: ListFilter = {};
  const set = <K extends keyof ListFilter>(key: K, value: ListFilter[K] | undefined) => {
    if (value !== undefined) filter[key] = value;
  };
  set('idEqual', p.string('idEqual'));
  set('idIn', p.string('idIn')?.split(','));
  set('createdAtGreaterThanOrEqual', time('createdAtGreaterThanOrEqual'));
  set('createdAtLessThanOrEqual', time('createdAtLessThanOrEqual'));
  set('updatedAtGreaterThanOrEqual', time('updatedAtGreaterThanOrEqual'));
  set('updatedAtLessThanOrEqual', time('updatedAtLessThanOrEqual'));
  set('statusEqual', p.intEnum('statusEqual', STATUSES, 'KalturaAppTokenStatus'));
  set('statusIn', p.string('statusIn')?.split(',').map(phpInt));
  set('sessionUserIdEqual', p.string('sessionUserIdEqual'));
  return filter;
}

function matches(token: AppTokenRecord, f: ListFilter): boolean {
  return (
    (f.idEqual === undefined || token.id === f.idEqual) &&
    (f.idIn === undefined || f.idIn.includes(token.id)) &&
    (f.createdAtGreaterThanOrEqual === undefined ||
      token.createdAt >= f.createdAtGreaterThanOrEqual) &&
    (f.createdAtLessThanOrEqual === undefined || token.createdAt <= f.createdAtLessThanOrEqual) &&
    (f.updatedAtGreaterThanOrEqual === undefined ||
      token.updatedAt >= f.updatedAtGreaterThanOrEqual) &&
    (f.updatedAtLessThanOrEqual === undefined || token.updatedAt <= f.updatedAtLessThanOrEqual) &&
    (f.statusEqual === undefined || token.status === f.statusEqual) &&
    (f.statusIn === undefined || f.statusIn.includes(token.status)) &&
    (f.sessionUserIdEqual === undefined || token.sessionUserId === f.sessionUserIdEqual)
  );
}

const list = defineAction({
  service: 'appToken',
  action: 'list',
  access: 'admin',
  partner: 'known',
  parse: (p, context) => {
    const pager = p.object('pager');
    const pageSize = pager?.int('pageSize') ?? 30;
    return {
      filter: parseFilter(p.object('filter'), context.nowSeconds),
      pageSize: pageSize <= 0 ? 30 : Math.min(pageSize, 500),
      pageIndex: Math.max(1, pager?.int('pageIndex') ?? 1),
    };
  },
  run(args, context) {
    const partnerId = requirePartner(context).id;
    const all = [...context.state.appTokens.values()].filter(
      (t) => t.partnerId === partnerId && matches(t, args.filter),
    );
    const start = (args.pageIndex - 1) * args.pageSize;
    return {
      objects: all.slice(start, start + args.pageSize).map(toApi),
      totalCount: all.length,
      objectType: 'KalturaAppTokenListResponse',
    };
  },
});

/**
 * The privileges of a KS made by appToken.startSession (spec §9.7 step 5): `sessionid` and
 * `apptoken` first, then the token's own, then the caller's — but a caller may add a
 * server-reserved name (§5.2) or one already present only where the token grants it with `*`.
 */
export function mergeAppTokenPrivileges(
  tokenId: string,
  tokenPrivileges: string | null,
  callerPrivileges: string | undefined,
): string {
  const map: PrivilegeMap = new Map([
    ['sessionid', [tokenId]],
    ['apptoken', [tokenId]],
  ]);
  if (tokenPrivileges) {
    for (const [name, values] of parsePrivileges(tokenPrivileges)) {
      const existing = map.get(name);
      if (existing) existing.push(...values);
      else map.set(name, [...values]);
    }
  }
  if (callerPrivileges) {
    for (const [rawName, values] of parsePrivileges(callerPrivileges)) {
      const name = phpTrim(rawName);
      if (name === '') continue;
      const existing = map.get(name);
      if (existing?.includes('*')) map.set(name, [...values]);
      else if (existing === undefined && !RESERVED.has(name)) map.set(name, [...values]);
    }
  }
  return buildPrivileges(map);
}

/** appToken.startSession, exactly as spec §9.7. */
const startSession = defineAction({
  service: 'appToken',
  action: 'startSession',
  access: 'session',
  partner: 'known',
  parse: (p) => ({
    id: p.requiredString('id'),
    tokenHash: p.requiredString('tokenHash'),
    userId: p.string('userId'),
    type: p.intEnum('type', SESSION_TYPES, SESSION_TYPE_ENUM),
    expiry: p.int('expiry'),
    sessionPrivileges: p.string('sessionPrivileges'),
  }),
  run(args, context) {
    const partner = requirePartner(context);
    const token = findToken(context, args.id);
    if (token.status !== AppTokenStatus.ACTIVE) throw apiError('APP_TOKEN_NOT_ACTIVE', token.id);
    // H(KS of this request ‖ token), lower-case hex, compared exactly.
    const expected = appTokenHash(context.session?.ks ?? '-', token.token, token.hashType);
    if (expected !== args.tokenHash) throw apiError('INVALID_APP_TOKEN_HASH');

    let tokenExpiry = token.sessionDuration ?? partner.maxKsExpirySeconds;
    if (token.expiry !== null) {
      tokenExpiry = Math.min(tokenExpiry, token.expiry - context.nowSeconds);
      if (tokenExpiry < 0) throw apiError('APP_TOKEN_EXPIRED', token.id);
    }
    const expiry = args.expiry ? Math.min(args.expiry, tokenExpiry) : tokenExpiry;
    const type = token.sessionType ?? args.type ?? 0;
    const userId = token.sessionUserId ?? args.userId ?? null;
    const privileges = mergeAppTokenPrivileges(
      token.id,
      token.sessionPrivileges,
      args.sessionPrivileges,
    );
    const { ks, validUntil } = issueKs(
      partner,
      {
        type,
        userId: userId ?? '',
        privileges,
        expiresInSeconds: expiry,
        fieldNames: { userId: 'userId', privileges: 'sessionPrivileges' },
      },
      context.nowMs,
    );
    const info: Record<string, unknown> = { ks, sessionType: type, partnerId: partner.id };
    if (userId !== null) info.userId = userId;
    info.expiry = validUntil;
    info.privileges = privileges;
    info.objectType = 'KalturaSessionInfo';
    return info;
  },
});

export const APP_TOKEN_ACTIONS: readonly ActionDefinition[] = [
  add,
  get,
  update,
  remove,
  list,
  startSession,
];
