import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { KsError } from '../errors.js';
import type { PrivilegesInput } from '../privileges/privileges.js';
import type { HasHeaders, KsUser } from './types.js';

export interface JwtUserOptions {
  /** Verify against a remote key set (JWKS), fetched and cached by jose. */
  jwksUrl?: string | URL;
  /** Or a shared secret (HS256/384/512). */
  secret?: string | Uint8Array;
  /** Required `iss`. */
  issuer: string | string[];
  /** Required `aud`. */
  audience: string | string[];
  /** The claim that holds the user id. Default `sub`. */
  userIdClaim?: string;
  /** A claim holding privileges (a string or `{ name: value }`), if any. */
  privilegesClaim?: string;
  /** Read the token from this cookie when there is no `Authorization: Bearer` header. */
  cookie?: string;
  /** Allowed algorithms. Default: HS256 for a secret; jose's asymmetric defaults for a JWKS. */
  algorithms?: string[];
  /** Seconds of clock skew tolerated on `exp`/`nbf`. Default 5. */
  clockToleranceSeconds?: number;
  /** Called with the reason a token was refused (never the token). */
  onReject?: (reason: { code: string; message: string }) => void;
}

function invalidOption(message: string): KsError {
  return new KsError('ERR_KS_INVALID_OPTION', message);
}

function header(req: HasHeaders, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A ready `getUser` for apps with their own JWT: verifies it (signature,
 * issuer, audience, expiry) from `Authorization: Bearer …` or a cookie, and
 * returns the user — or `null` when there is no valid token (the route then
 * answers 401). Works for Express's `req` and Koa's `ctx` alike.
 */
export function jwtUser(options: JwtUserOptions): (req: HasHeaders) => Promise<KsUser | null> {
  if (typeof options !== 'object' || options === null) throw invalidOption('jwtUser needs options');
  const {
    jwksUrl,
    secret,
    issuer,
    audience,
    userIdClaim = 'sub',
    privilegesClaim,
    cookie,
    onReject,
  } = options;
  if ((jwksUrl === undefined) === (secret === undefined))
    throw invalidOption('jwtUser needs exactly one of jwksUrl or secret');
  if (!issuer || (Array.isArray(issuer) && issuer.length === 0))
    throw invalidOption('jwtUser needs issuer');
  if (!audience || (Array.isArray(audience) && audience.length === 0))
    throw invalidOption('jwtUser needs audience');
  let key: Uint8Array | JWTVerifyGetKey;
  if (secret !== undefined) {
    key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (key.length < 32) throw invalidOption('jwtUser secret must be at least 32 bytes');
  } else {
    let url: URL;
    try {
      url = new URL(jwksUrl!);
    } catch {
      throw invalidOption('jwtUser jwksUrl must be a URL');
    }
    key = createRemoteJWKSet(url);
  }
  const verifyOptions = {
    issuer,
    audience,
    algorithms: options.algorithms ?? (secret !== undefined ? ['HS256'] : undefined),
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };

  return async (req) => {
    const authorization = header(req, 'authorization');
    const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const token =
      bearer ?? (cookie === undefined ? undefined : cookieValue(header(req, 'cookie'), cookie));
    if (token === undefined || token === '') return null;
    let payload: JWTPayload;
    try {
      ({ payload } =
        typeof key === 'function'
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      onReject?.({
        code: (error as { code?: string }).code ?? 'ERR_JWT_INVALID',
        message: (error as Error).message,
      });
      return null;
    }
    const id = payload[userIdClaim];
    if (typeof id !== 'string' && typeof id !== 'number') {
      onReject?.({
        code: 'ERR_JWT_CLAIM_MISSING',
        message: `The token has no ${userIdClaim} claim`,
      });
      return null;
    }
    const user: KsUser = { id: String(id) };
    if (privilegesClaim !== undefined && payload[privilegesClaim] !== undefined) {
      user.privileges = payload[privilegesClaim] as PrivilegesInput;
    }
    return user;
  };
}
