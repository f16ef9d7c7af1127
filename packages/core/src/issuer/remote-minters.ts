import type { AppTokenHashType } from '../app-token/hash.js';
import type { KalturaClient } from '../client/types.js';
import type { Clock } from '../clock.js';
import { KalturaApiError, KsError } from '../errors.js';
import type { KsFields } from '../ks/types.js';
import { decodeKs, verifyKs } from '../ks/verify.js';
import type { KalturaClockView } from './clock-offset.js';
import type { KsMinter, MintRequest } from './minter.js';

/**
 * Kaltura's clock offset for a KS it has just issued. A remote mint needs it only now,
 * so the issuer's first measurement runs alongside the mint and is waited for here (and
 * the mint refused if Kaltura's clock cannot be read: see `KalturaClock.offsetForMint`).
 */
function offsetAfterAnswer(
  clock: KalturaClockView | undefined,
  request: MintRequest,
): Promise<number> | number {
  return clock?.offsetForMint() ?? request.clockOffsetMs ?? 0;
}

/**
 * What a Kaltura client gives a minter: ending sessions at Kaltura (`session.end`,
 * authenticated by the KS itself), asking whether Kaltura accepts a KS, and closing the
 * client if it is ours.
 */
export function clientLifecycle(
  client: KalturaClient,
  ownsClient: boolean,
): Pick<KsMinter, 'end' | 'accepts' | 'close'> {
  return {
    async end(session) {
      await client.session.end({ ks: session.ks });
    },
    // Kaltura checks the KS of every call before the call itself (spec §8): the cheapest
    // call that any session may make, `system.ping`, fails with INVALID_KS exactly when
    // Kaltura refuses the KS.
    async accepts(session, signal) {
      try {
        await client.system.ping({ ks: session.ks, signal });
        return true;
      } catch (error) {
        if (error instanceof KalturaApiError && error.kalturaCode === 'INVALID_KS') return false;
        throw error;
      }
    },
    async close() {
      if (ownsClient) await client.close();
    },
  };
}

/**
 * Mints with `session.start`. Kaltura answers with the KS alone, so what it issued (user,
 * type, privileges, expiry) is read from the KS where possible (any v1 KS; a v2 KS when the
 * secret is the admin secret), else taken as asked — `session.start` issues what it is asked,
 * but may clamp the expiry to the partner's maximum: keep `expiresInSeconds` within it.
 * `expiresAt` is in this server's frame (`validUntil × 1000 − clockOffsetMs`).
 */
export function sessionStartMinter(options: {
  client: KalturaClient;
  ownsClient: boolean;
  partnerId: number;
  secret: string;
  now: Clock;
  warn: (message: string) => void;
  /** The issuer's clock; without it, `request.clockOffsetMs`. */
  clock?: KalturaClockView;
}): KsMinter {
  const { client, partnerId, secret, now } = options;
  let warned = false;
  function fieldsOf(ks: string, readable: ReturnType<typeof readableFields>): KsFields | undefined {
    if (readable.version === 1) return readable as KsFields;
    try {
      // Only to read the fields: the expiry is judged by the issuer, on its own frame.
      return verifyKs(ks, { secrets: secret, partnerId, now: () => 0 });
    } catch {
      return undefined; // a user secret cannot open a v2 KS
    }
  }
  return {
    kind: 'session-start',
    async mint(request, signal) {
      const issuedAt = now();
      const ks = await client.session.start(
        {
          secret,
          partnerId,
          userId: request.userId,
          type: request.type,
          expiresInSeconds: request.expiresInSeconds,
          privileges: request.privileges,
        },
        { signal },
      );
      const readable = readableFields(ks);
      const fields = fieldsOf(ks, readable);
      if (fields === undefined && !warned) {
        warned = true;
        options.warn(
          "kaltura-ks: session.start returned a KS v2 that this secret cannot open (the user secret), so its real expiry is unknown and taken as asked. Keep expiresInSeconds within the partner's maximum KS lifetime, or use the admin secret or an app token.",
        );
      }
      if (fields === undefined) {
        return {
          ks,
          // In the clear in a KS v2: the grant check compares it with the partner asked.
          partnerId: readable.partnerId,
          userId: request.userId,
          type: request.type,
          privileges: request.privileges,
          // Kaltura counts the lifetime from the start of its current second.
          expiresAt: issuedAt + (request.expiresInSeconds - 1) * 1000,
          issuedAt,
        };
      }
      return {
        ks,
        partnerId: fields.partnerId,
        userId: fields.userId,
        type: fields.type,
        privileges: fields.privileges,
        expiresAt: fields.validUntil * 1000 - (await offsetAfterAnswer(options.clock, request)),
        issuedAt,
      };
    },
    ...clientLifecycle(client, options.ownsClient),
  };
}

/**
 * Mints through an app token (widget session → token hash →
 * `appToken.startSession`), so the admin secret never leaves the account
 * owner. Returns what Kaltura issued — the token may shorten the expiry and
 * override the user, type and privileges — read from the KS itself where it is
 * readable (v1), else from Kaltura's answer; `expiresAt` in this server's frame.
 */
export function appTokenMinter(options: {
  client: KalturaClient;
  ownsClient: boolean;
  id: string;
  token: string;
  hashType: AppTokenHashType;
  now: Clock;
  /** The issuer's clock; without it, `request.clockOffsetMs`. */
  clock?: KalturaClockView;
}): KsMinter {
  const { client, id, token, hashType, now } = options;
  return {
    kind: 'app-token',
    async mint(request, signal) {
      const issuedAt = now();
      const info = await client.startAppTokenSession({
        appTokenId: id,
        appTokenValue: token,
        hashType,
        userId: request.userId,
        type: request.type,
        expiresInSeconds: request.expiresInSeconds,
        privileges: request.privileges,
        signal,
      });
      const fields = readableFields(info.ks);
      const offsetMs = await offsetAfterAnswer(options.clock, request);
      return {
        ks: info.ks,
        partnerId: fields.partnerId,
        userId: fields.userId ?? info.userId,
        type: fields.type ?? info.sessionType,
        privileges: fields.privileges ?? info.privileges,
        expiresAt: (fields.validUntil ?? info.expiry) * 1000 - offsetMs,
        issuedAt,
      };
    },
    ...clientLifecycle(client, options.ownsClient),
  };
}

/**
 * The fields of a KS that can be read without the secret (v1: all of them; v2: the
 * partner only): what Kaltura will read, preferred to what its answer says. An answer
 * that is no KS at all is `ERR_KS_RESPONSE` (the message does not repeat it).
 */
function readableFields(ks: string): Partial<KsFields> & { partnerId: number } {
  try {
    const decoded = decodeKs(ks);
    return decoded.version === 1 ? decoded : { version: 2, partnerId: decoded.partnerId };
  } catch {
    throw new KsError('ERR_KS_RESPONSE', 'Kaltura answered with something that is not a KS');
  }
}
