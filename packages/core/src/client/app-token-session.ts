import { type AppTokenHashType, appTokenHash, toAppTokenHashType } from '../app-token/hash.js';
import { KalturaApiError } from '../errors.js';
import { invalidOption } from '../options.js';
import { checkStartSession, sendStartSession } from './actions.js';
import type { Context } from './context.js';
import type {
  KalturaSessionInfo,
  KalturaSessionService,
  StartAppTokenSessionParams,
} from './types.js';
import { paramsObject, requiredText } from './validate.js';
import { createWidgetSessionCache, type WidgetSessionCache } from './widget-session.js';

export interface AppTokenSessions {
  start(params: StartAppTokenSessionParams): Promise<KalturaSessionInfo>;
  /** Drops the cached widget session (on close). */
  clear(): void;
}

/**
 * The app-token flow (spec §9.7): a widget session (cached, one request for all concurrent
 * callers) → `appTokenHash(widget KS, token value)` → `appToken.startSession` with the
 * widget KS. A warm call is one round trip. If Kaltura refuses the widget KS (INVALID_KS:
 * expired early, or the partner's maximum expiry is shorter than asked), a new widget
 * session is fetched and the start is tried once more.
 */
export function createAppTokenSessions(
  context: Context,
  session: KalturaSessionService,
): AppTokenSessions {
  const { options } = context;
  const widgets: WidgetSessionCache = createWidgetSessionCache({
    // Shared by every waiter, so not tied to any caller's signal; bounded by requestTimeoutMs.
    fetch: () =>
      session.startWidgetSession(
        { expiresInSeconds: options.widgetSessionExpiresInSeconds },
        { ks: null },
      ),
    lifetimeSeconds: options.widgetSessionExpiresInSeconds,
    now: options.now,
    kalturaClockOffsetMs: options.kalturaClockOffsetMs,
    emit: options.onEvent
      ? (event) => {
          try {
            options.onEvent?.(event);
          } catch {
            // A failing observer must not fail the call.
          }
        }
      : undefined,
  });

  // Every mint under one widget session sends the same hash: kept for the last (widget KS,
  // token value, hash type), so a storm of mints hashes once per widget session, not per mint.
  let last: { ks: string; value: string; type: AppTokenHashType; hash: string } | undefined;
  const tokenHashFor = (ks: string, value: string, type: AppTokenHashType): string => {
    if (last === undefined || last.ks !== ks || last.value !== value || last.type !== type) {
      last = { ks, value, type, hash: appTokenHash(ks, value, type) };
    }
    return last.hash;
  };

  return {
    async start(params) {
      const p = paramsObject(params, 'startAppTokenSession');
      const checked = checkStartSession(
        {
          id: p.appTokenId as string,
          userId: p.userId,
          type: p.type,
          expiresInSeconds: p.expiresInSeconds,
          sessionPrivileges: p.privileges,
        },
        'appTokenId',
      );
      const tokenValue = requiredText(p.appTokenValue, 'appTokenValue');
      const hashType = toAppTokenHashType(p.hashType ?? 'SHA1');
      if (options.widgetId === undefined && options.partnerId === undefined) {
        throw invalidOption(
          'startAppTokenSession needs the partnerId (or widgetId) option of the client',
        );
      }
      const { signal } = p;

      const widget = await widgets.get(signal);
      try {
        const tokenHash = tokenHashFor(widget.ks, tokenValue, hashType);
        return await sendStartSession(context, checked, tokenHash, widget.ks, signal);
      } catch (error) {
        if (!(error instanceof KalturaApiError) || error.kalturaCode !== 'INVALID_KS') throw error;
        widgets.invalidate(widget.ks);
        const fresh = await widgets.get(signal);
        const tokenHash = tokenHashFor(fresh.ks, tokenValue, hashType);
        return await sendStartSession(context, checked, tokenHash, fresh.ks, signal);
      }
    },
    clear() {
      widgets.clear();
      last = undefined;
    },
  };
}
