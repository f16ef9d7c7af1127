import { checkSecret } from '../ks/fields.js';
import { invalidOption } from '../options.js';
import type { Context } from './context.js';
import {
  parseAppToken,
  parseAppTokenList,
  parseBoolean,
  parseKs,
  parseSessionFields,
  parseSessionInfo,
  parseWidgetSession,
  toNumber,
} from './normalize.js';
import { checkKsOption } from './options.js';
import type {
  AppTokenStartSessionParams,
  KalturaAppTokenService,
  KalturaCallOptions,
  KalturaParams,
  KalturaSessionInfo,
  KalturaSessionService,
  KalturaSystemService,
  KalturaUserService,
} from './types.js';
import {
  appTokenFilterObject,
  appTokenObject,
  optionalPartnerId,
  optionalPrivileges,
  optionalSeconds,
  optionalText,
  optionalType,
  optionalUserId,
  paramsObject,
  requiredText,
} from './validate.js';

/**
 * The typed actions. Which may be retried after a failure that might have reached Kaltura
 * (`idempotent`): session.start, startWidgetSession and appToken.startSession only mint
 * (a second KS is harmless); reads; appToken.update (same values). Not: appToken.add (two
 * tokens), appToken.delete and session.end (the repeat fails although the first worked),
 * user.loginByLoginId (each attempt counts towards the account's lockout).
 */

function requireKs(ks: string | undefined, where: string): string {
  if (ks === undefined)
    throw invalidOption(`${where} needs a KS: pass options.ks or set the client's ks`);
  return ks;
}

/** appToken.startSession with checked parameters (shared with the app-token flow). */
export interface CheckedStartSession {
  id: string;
  userId: string | undefined;
  type: number | undefined;
  expiry: number | undefined;
  sessionPrivileges: string | undefined;
}

export function checkStartSession(
  params: Omit<AppTokenStartSessionParams, 'tokenHash'>,
  idName = 'id',
): CheckedStartSession {
  return {
    id: requiredText(params.id, idName),
    userId: optionalUserId(params.userId),
    type: optionalType(params.type),
    expiry: optionalSeconds(params.expiresInSeconds, 'expiresInSeconds'),
    sessionPrivileges: optionalPrivileges(params.sessionPrivileges),
  };
}

export async function sendStartSession(
  context: Context,
  checked: CheckedStartSession,
  tokenHash: string,
  ks: string,
  signal: AbortSignal | undefined,
): Promise<KalturaSessionInfo> {
  const params: KalturaParams = {
    id: checked.id,
    tokenHash,
    userId: checked.userId,
    type: checked.type,
    expiry: checked.expiry,
    sessionPrivileges: checked.sessionPrivileges,
  };
  const value = await context.call('appToken', 'startSession', params, ks, true, signal);
  return parseSessionInfo(value, 'appToken.startSession');
}

export function sessionService(context: Context): KalturaSessionService {
  return {
    async start(params, options) {
      const p = paramsObject(params, 'session.start');
      const partnerId = optionalPartnerId(p.partnerId) ?? context.options.partnerId;
      if (partnerId === undefined) {
        throw invalidOption('session.start needs partnerId (in its params or the client options)');
      }
      const body: KalturaParams = {
        secret: checkSecret(p.secret),
        userId: optionalUserId(p.userId),
        type: optionalType(p.type),
        partnerId,
        expiry: optionalSeconds(p.expiresInSeconds, 'expiresInSeconds'),
        privileges: optionalPrivileges(p.privileges),
      };
      const ks = context.ksFor(options, false);
      const value = await context.call('session', 'start', body, ks, true, options?.signal);
      return parseKs(value, 'session.start');
    },

    async startWidgetSession(params, options) {
      const p = paramsObject(params, 'session.startWidgetSession');
      const { widgetId: configured, partnerId } = context.options;
      const widgetId =
        optionalText(p.widgetId, 'widgetId') ??
        configured ??
        (partnerId === undefined ? undefined : `_${partnerId}`);
      if (widgetId === undefined || widgetId === '') {
        throw invalidOption(
          'session.startWidgetSession needs a widgetId (or the partnerId option)',
        );
      }
      const body: KalturaParams = {
        widgetId,
        expiry: optionalSeconds(p.expiresInSeconds, 'expiresInSeconds'),
      };
      const ks = context.ksFor(options, false);
      const value = await context.call(
        'session',
        'startWidgetSession',
        body,
        ks,
        true,
        options?.signal,
      );
      return parseWidgetSession(value, 'session.startWidgetSession');
    },

    async get(params, options) {
      const p = paramsObject(params, 'session.get');
      const body: KalturaParams = { session: checkKsOption(p.session, 'session') };
      const ks = context.ksFor(options, true);
      const value = await context.call('session', 'get', body, ks, true, options?.signal);
      return parseSessionFields(value, 'session.get');
    },

    async end(options) {
      const ks = requireKs(context.ksFor(options, true), 'session.end');
      await context.call('session', 'end', undefined, ks, false, options?.signal);
    },
  };
}

export function userService(context: Context): KalturaUserService {
  return {
    async loginByLoginId(params, options) {
      const p = paramsObject(params, 'user.loginByLoginId');
      const body: KalturaParams = {
        loginId: requiredText(p.loginId, 'loginId'),
        password: requiredText(p.password, 'password'),
        partnerId: optionalPartnerId(p.partnerId) ?? context.options.partnerId,
        expiry: optionalSeconds(p.expiresInSeconds, 'expiresInSeconds'),
        privileges: optionalPrivileges(p.privileges),
        otp: optionalText(p.otp, 'otp'),
      };
      const ks = context.ksFor(options, false);
      const value = await context.call('user', 'loginByLoginId', body, ks, false, options?.signal);
      return parseKs(value, 'user.loginByLoginId');
    },
  };
}

export function appTokenService(context: Context): KalturaAppTokenService {
  const admin = (options: KalturaCallOptions | undefined, where: string) =>
    requireKs(context.ksFor(options, true), where);

  return {
    async add(appToken, options) {
      const body: KalturaParams = { appToken: appTokenObject(appToken) };
      const ks = admin(options, 'appToken.add');
      const value = await context.call('appToken', 'add', body, ks, false, options?.signal);
      return parseAppToken(value, 'appToken.add');
    },

    async get(id, options) {
      const body: KalturaParams = { id: requiredText(id, 'id') };
      const ks = admin(options, 'appToken.get');
      const value = await context.call('appToken', 'get', body, ks, true, options?.signal);
      return parseAppToken(value, 'appToken.get');
    },

    async list(filter, pager, options) {
      const p = paramsObject(pager, 'pager');
      const body: KalturaParams = {
        filter: appTokenFilterObject(filter),
        pager:
          pager === undefined
            ? undefined
            : { objectType: 'KalturaFilterPager', pageSize: p.pageSize, pageIndex: p.pageIndex },
      };
      const ks = admin(options, 'appToken.list');
      const value = await context.call('appToken', 'list', body, ks, true, options?.signal);
      return parseAppTokenList(value, 'appToken.list');
    },

    async update(id, appToken, options) {
      const body: KalturaParams = {
        id: requiredText(id, 'id'),
        appToken: appTokenObject(appToken),
      };
      const ks = admin(options, 'appToken.update');
      const value = await context.call('appToken', 'update', body, ks, true, options?.signal);
      return parseAppToken(value, 'appToken.update');
    },

    async delete(id, options) {
      const body: KalturaParams = { id: requiredText(id, 'id') };
      const ks = admin(options, 'appToken.delete');
      await context.call('appToken', 'delete', body, ks, false, options?.signal);
    },

    async startSession(params, options) {
      const p = paramsObject(params, 'appToken.startSession');
      const checked = checkStartSession(p as AppTokenStartSessionParams);
      const tokenHash = requiredText(p.tokenHash, 'tokenHash');
      const ks = admin(options, 'appToken.startSession');
      return sendStartSession(context, checked, tokenHash, ks, options?.signal);
    },
  };
}

export function systemService(context: Context): KalturaSystemService {
  return {
    async getTime(options) {
      const ks = context.ksFor(options, false);
      const value = await context.call('system', 'getTime', undefined, ks, true, options?.signal);
      return toNumber(value, 'time', 'system.getTime');
    },
    async ping(options) {
      const ks = context.ksFor(options, false);
      const value = await context.call('system', 'ping', undefined, ks, true, options?.signal);
      return parseBoolean(value, 'system.ping');
    },
  };
}
