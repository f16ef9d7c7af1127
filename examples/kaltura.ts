/**
 * What every example needs besides its framework, kept out of the examples themselves:
 * Kaltura (the embedded emulator, with an app token made the way an account owner makes
 * one) and a stand-in for your app's own sign-in (a JWT in a `session` cookie).
 *
 * On your account, `partnerId`, `serviceUrl` and `appToken` come from your configuration,
 * and `getUser` from your sign-in: the `jwtUser` options below, or your own function.
 */
import { randomBytes } from 'node:crypto';
import { KsType, verifyKs } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import type { JwtUserOptions } from '@kaltura-ks/core/http';
import { startEmulator } from '@kaltura-ks/emulator';
import { SignJWT } from 'jose';

/** Who signs the stand-in sessions, and for whom (`iss` and `aud`). */
export const SESSION_ISSUER = 'https://app.example.com';
export const SESSION_AUDIENCE = 'kaltura-ks-example';

export interface ExampleKaltura {
  /** The way to mint, as every adapter takes it: an app token, as production should. */
  options: {
    partnerId: number;
    serviceUrl: string;
    appToken: { id: string; token: string; hashType: 'SHA256' };
  };
  /** `jwtUser(kaltura.session)`: the user from the `session` cookie or a Bearer token. */
  session: JwtUserOptions & { secret: string };
  /** Signs `userId` in: the JWT to send as the `session` cookie. */
  signIn(userId: string): Promise<string>;
  /** Checks a KS the example handed out, as Kaltura would; returns its user. */
  verify(ks: string): { userId: string };
  close(): Promise<void>;
}

export async function startKaltura(): Promise<ExampleKaltura> {
  const emulator = await startEmulator();
  const partner = emulator.partners[0]!;
  // Once, by the account owner (`kaltura-ks app-token add`): an app token for USER sessions.
  const admin = createKalturaClient({ serviceUrl: emulator.url, partnerId: partner.id });
  admin.ks = await admin.session.start({ secret: partner.adminSecret, type: KsType.ADMIN });
  const token = await admin.appToken.add({ hashType: 'SHA256', sessionPrivileges: 'sview:*' });
  await admin.close();

  const jwtSecret = randomBytes(32).toString('hex');
  const session = {
    secret: jwtSecret,
    issuer: SESSION_ISSUER,
    audience: SESSION_AUDIENCE,
    cookie: 'session',
  };
  return {
    options: {
      partnerId: partner.id,
      serviceUrl: emulator.url,
      appToken: { id: token.id, token: token.token, hashType: 'SHA256' },
    },
    session,
    signIn: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer(session.issuer)
        .setAudience(session.audience)
        .setExpirationTime('8h')
        .sign(new TextEncoder().encode(jwtSecret)),
    verify: (ks) => verifyKs(ks, { secrets: partner.adminSecret, partnerId: partner.id }),
    close: () => emulator.close(),
  };
}

/** A running example: where it listens, and how to stop it. */
export interface RunningExample {
  url: string;
  close(): Promise<void>;
}
