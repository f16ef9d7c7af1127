import { type Dispatcher, Pool } from 'undici';
import { invalidOption } from '../options.js';
import { appTokenService, sessionService, systemService, userService } from './actions.js';
import { createAppTokenSessions } from './app-token-session.js';
import { createContext } from './context.js';
import { multirequest } from './multirequest.js';
import { checkKsOption, resolveOptions } from './options.js';
import { createTransport } from './transport.js';
import type { KalturaClient, KalturaClientOptions } from './types.js';
import { checkName } from './validate.js';

/**
 * A client for Kaltura's API (api_v3): typed session, user, appToken and system actions,
 * a generic `request`, `multirequest`, and the app-token flow `startAppTokenSession`.
 *
 * Requests go through one keep-alive undici `Pool` for the service URL's origin (or the
 * `dispatcher` you pass), as form-encoded POSTs with `format=1`; the KS and every secret
 * travel in the body, never in the URL. Options are checked here, once.
 */
export function createKalturaClient(options: KalturaClientOptions): KalturaClient {
  const resolved = resolveOptions(options);
  const ownPool: Pool | undefined =
    resolved.dispatcher === undefined
      ? new Pool(resolved.origin, {
          connections: resolved.maxConnections,
          connect: { timeout: resolved.connectTimeoutMs },
          headersTimeout: resolved.headersTimeoutMs,
          bodyTimeout: resolved.bodyTimeoutMs,
        })
      : undefined;
  const dispatcher: Dispatcher = resolved.dispatcher ?? (ownPool as Pool);
  const context = createContext(resolved, createTransport(resolved, dispatcher));
  const session = sessionService(context);
  const appTokens = createAppTokenSessions(context, session);
  let closing: Promise<void> | undefined;

  return {
    serviceUrl: resolved.serviceUrl,
    partnerId: resolved.partnerId,
    get ks() {
      return context.ks;
    },
    set ks(value: string | undefined) {
      context.ks = checkKsOption(value);
    },
    session,
    user: userService(context),
    appToken: appTokenService(context),
    system: systemService(context),

    async request(service, action, params, callOptions) {
      const idempotent = callOptions?.idempotent ?? false;
      if (typeof idempotent !== 'boolean') {
        throw invalidOption('options.idempotent must be a boolean');
      }
      return context.call(
        checkName(service, 'service'),
        checkName(action, 'action'),
        params,
        context.ksFor(callOptions, true),
        idempotent,
        callOptions?.signal,
      );
    },

    multirequest(items, callOptions) {
      return multirequest(context, items, callOptions);
    },

    startAppTokenSession(params) {
      return appTokens.start(params);
    },

    close() {
      closing ??= (async () => {
        context.closed = true;
        appTokens.clear();
        await ownPool?.close();
      })();
      return closing;
    },
  };
}
