import type { Clock } from '../clock.js';
import { signKs } from '../ks/create.js';
import type { KsVersion } from '../ks/types.js';
import type { KsMinter } from './minter.js';

/**
 * Mints by signing locally with the admin secret: no network, no Kaltura round trip.
 * `validUntil` is signed in Kaltura's frame (`now + request.clockOffsetMs`), since Kaltura
 * checks it on its own clock; `expiresAt` is in this server's frame.
 */
export function localMinter(options: {
  partnerId: number;
  adminSecret: string;
  version: KsVersion;
  now: Clock;
}): KsMinter {
  const { partnerId, adminSecret, version, now } = options;
  return {
    kind: 'local',
    async mint(request) {
      const issuedAt = now();
      const offsetMs = request.clockOffsetMs ?? 0;
      const { ks, validUntil } = signKs({
        secret: adminSecret,
        partnerId,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        expiresInSeconds: request.expiresInSeconds,
        version,
        now: () => issuedAt + offsetMs,
      });
      return {
        ks,
        partnerId,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        expiresAt: validUntil * 1000 - offsetMs,
        issuedAt,
      };
    },
  };
}
