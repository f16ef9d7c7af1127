import type { AppTokenHashType } from '../app-token/hash.js';
import type { KalturaClient } from '../client/types.js';
import type { Clock } from '../clock.js';
import { KalturaApiError } from '../errors.js';
import { decodeKs, verifyKs } from '../ks/verify.js';
import type { KsMinter } from './minter.js';

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
 * Mints with `session.start`. Kaltura answers with the KS alone, so its expiry
 * is read from the KS where possible (any v1 KS; a v2 KS when the secret is the
 * admin secret), else taken as asked (Kaltura may clamp it to the partner's
 * maximum: keep `expiresInSeconds` within it).
 */
export function sessionStartMinter(options: {
  client: KalturaClient;
  ownsClient: boolean;
  partnerId: number;
  secret: string;
  now: Clock;
  warn: (message: string) => void;
}): KsMinter {
  const { client, partnerId, secret, now } = options;
  let warned = false;
  function validUntilOf(ks: string): number | undefined {
    try {
      const decoded = decodeKs(ks);
      if (decoded.version === 1) return decoded.validUntil;
      return verifyKs(ks, { secrets: secret, partnerId, now }).validUntil;
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
      const validUntil = validUntilOf(ks);
      if (validUntil === undefined && !warned) {
        warned = true;
        options.warn(
          "kaltura-ks: session.start returned a KS v2 that this secret cannot open (the user secret), so its real expiry is unknown and taken as asked. Keep expiresInSeconds within the partner's maximum KS lifetime, or use the admin secret or an app token.",
        );
      }
      return {
        ks,
        partnerId,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        expiresAt:
          validUntil === undefined ? issuedAt + request.expiresInSeconds * 1000 : validUntil * 1000,
        issuedAt,
      };
    },
    ...clientLifecycle(client, options.ownsClient),
  };
}

/**
 * Mints through an app token (widget session → token hash →
 * `appToken.startSession`), so the admin secret never leaves the account
 * owner. Stores what Kaltura issued: the token may shorten the expiry and
 * override the user, type and privileges.
 */
export function appTokenMinter(options: {
  client: KalturaClient;
  ownsClient: boolean;
  id: string;
  token: string;
  hashType: AppTokenHashType;
  now: Clock;
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
      return {
        ks: info.ks,
        partnerId: info.partnerId,
        userId: info.userId,
        type: info.sessionType,
        privileges: info.privileges,
        expiresAt: info.expiry * 1000,
        issuedAt,
      };
    },
    ...clientLifecycle(client, options.ownsClient),
  };
}
