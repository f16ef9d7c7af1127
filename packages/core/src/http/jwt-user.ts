import { webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { type Clock, systemClock } from '../clock.js';
import { invalidOption } from '../options.js';
import type { PrivilegesInput } from '../privileges/privileges.js';
import { cookieValue } from './cookie.js';
import { headerValue } from './headers.js';
import type { HasHeaders, KsUser, MaybePromise } from './types.js';
import { VerifiedTokens } from './verified-tokens.js';

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
  /** Seconds of clock skew tolerated on `exp`/`nbf`, and on an `iat` in the future. Default 5. */
  clockToleranceSeconds?: number;
  /** The clock `exp` and `nbf` are checked against, in epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /** Called with the reason a token was refused (never the token, never a claim's value). */
  onReject?: (reason: JwtRejectReason) => void;
  /**
   * With a `secret`: how many verified tokens to remember, so that a repeated token is
   * not verified again — only until its `exp`, and only while its `nbf` and `iat` still
   * pass on the clock. Default 10,000; 0 verifies every token every time. (With a
   * `jwksUrl`, every token is verified every time: a key taken out of the set must stop
   * its tokens.)
   */
  maxCachedTokens?: number;
}

/**
 * Why `jwtUser` refused a token. `code` is jose's own (`ERR_JWT_EXPIRED`,
 * `ERR_JWS_SIGNATURE_VERIFICATION_FAILED`, `ERR_JWT_CLAIM_VALIDATION_FAILED`,
 * `ERR_JWKS_TIMEOUT`…), or one of jwtUser's claim checks:
 * `ERR_JWT_CLAIM_MISSING` (no user id claim) and `ERR_JWT_CLAIM_INVALID` (the
 * user id or privileges claim has the wrong type).
 */
export interface JwtRejectReason {
  code: string;
  message: string;
}

/** A claim the token itself carries (not one inherited from `Object.prototype`). */
function claim(payload: JWTPayload, name: string): unknown {
  return Object.hasOwn(payload, name) ? payload[name] : undefined;
}

/** A JSON value's type, for messages: never the value itself. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The WebCrypto HMAC parameters of each HS algorithm, as jose checks a CryptoKey against them. */
const HMAC = new Map<string, webcrypto.HmacImportParams>([
  ['HS256', { name: 'HMAC', hash: 'SHA-256' }],
  ['HS384', { name: 'HMAC', hash: 'SHA-384' }],
  ['HS512', { name: 'HMAC', hash: 'SHA-512' }],
]);

/**
 * The shared secret as jose's key: imported once per HS algorithm (jose imports raw
 * bytes again for every token it verifies), the raw bytes for any other algorithm,
 * which jose then refuses as it always has.
 */
function importedSecret(
  secret: Uint8Array,
): (header: JWSHeaderParameters) => Uint8Array | Promise<webcrypto.CryptoKey> {
  const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
  return ({ alg }) => {
    const params = alg === undefined ? undefined : HMAC.get(alg);
    if (alg === undefined || params === undefined) return secret;
    let key = keys.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', secret, params, false, ['verify']);
      // A failed import is not kept: the next token tries again.
      key.catch(() => keys.delete(alg));
      keys.set(alg, key);
    }
    return key;
  };
}

/** `localhost`, 127.0.0.0/8 or `[::1]`, as `URL#hostname` writes them. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * A ready `getUser` for apps with their own JWT: verifies it (signature,
 * issuer, audience, expiry) from `Authorization: Bearer …` or a cookie, and
 * returns the user — or `null` when there is no valid token (the route then
 * answers 401). Works for Express's `req`, Koa's `ctx` and a Fetch `Request` alike.
 * Like any `getUser`, it answers at once when it can (no token, or a token it has already
 * verified: the signed-in request's hot path, without a promise) and with a promise when
 * it verifies a token: await what it returns.
 */
export function jwtUser(options: JwtUserOptions): (req: HasHeaders) => MaybePromise<KsUser | null> {
  if (typeof options !== 'object' || options === null) throw invalidOption('jwtUser needs options');
  const {
    jwksUrl,
    secret,
    issuer,
    audience,
    userIdClaim = 'sub',
    privilegesClaim,
    cookie,
    clockToleranceSeconds = 5,
    now = systemClock,
    onReject,
    maxCachedTokens = 10_000,
  } = options;
  if ((jwksUrl === undefined) === (secret === undefined))
    throw invalidOption('jwtUser needs exactly one of jwksUrl or secret');
  if (!issuer || (Array.isArray(issuer) && issuer.length === 0))
    throw invalidOption('jwtUser needs issuer');
  if (!audience || (Array.isArray(audience) && audience.length === 0))
    throw invalidOption('jwtUser needs audience');
  if (typeof userIdClaim !== 'string' || userIdClaim === '')
    throw invalidOption('jwtUser userIdClaim must be a claim name');
  if (
    privilegesClaim !== undefined &&
    (typeof privilegesClaim !== 'string' || privilegesClaim === '')
  )
    throw invalidOption('jwtUser privilegesClaim must be a claim name');
  if (typeof now !== 'function')
    throw invalidOption('jwtUser now must be a function returning epoch milliseconds');
  if (
    typeof clockToleranceSeconds !== 'number' ||
    !Number.isFinite(clockToleranceSeconds) ||
    clockToleranceSeconds < 0
  ) {
    throw invalidOption('jwtUser clockToleranceSeconds must be a non-negative number of seconds');
  }
  if (!Number.isSafeInteger(maxCachedTokens) || maxCachedTokens < 0)
    throw invalidOption('jwtUser maxCachedTokens must be a non-negative integer');
  let key:
    | ((header: JWSHeaderParameters) => Uint8Array | Promise<webcrypto.CryptoKey>)
    | JWTVerifyGetKey;
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (bytes.length < 32) throw invalidOption('jwtUser secret must be at least 32 bytes');
    key = importedSecret(bytes);
  } else {
    let url: URL;
    try {
      url = new URL(jwksUrl!);
    } catch {
      throw invalidOption('jwtUser jwksUrl must be a URL');
    }
    // Keys fetched in the clear could be anyone's: whoever is on the path signs any user's token.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw invalidOption(
        'jwtUser jwksUrl must be https (plain http only on the loopback interface)',
      );
    }
    key = createRemoteJWKSet(url);
  }
  const { algorithms } = options;
  if (algorithms !== undefined) {
    if (
      !Array.isArray(algorithms) ||
      algorithms.length === 0 ||
      !algorithms.every((alg) => typeof alg === 'string' && alg !== '')
    ) {
      throw invalidOption('jwtUser algorithms must be a non-empty list of algorithm names');
    }
    // Anything else would refuse every token, one request at a time, instead of now.
    if (secret !== undefined && !algorithms.every((alg) => HMAC.has(alg))) {
      throw invalidOption('jwtUser algorithms with a secret may only be HS256, HS384 and HS512');
    }
    if (secret === undefined && algorithms.some((alg) => HMAC.has(alg) || alg === 'none')) {
      throw invalidOption(
        'jwtUser algorithms with a jwksUrl must be asymmetric (not HS256, HS384, HS512 or none)',
      );
    }
  }
  const verifyOptions = {
    issuer,
    audience,
    algorithms: algorithms ?? (secret !== undefined ? ['HS256'] : undefined),
    clockTolerance: clockToleranceSeconds,
    // jose checks `exp` only when present: a token without one would never expire.
    requiredClaims: ['exp'],
  };
  const verified =
    secret !== undefined && maxCachedTokens > 0
      ? new VerifiedTokens(maxCachedTokens, clockToleranceSeconds)
      : undefined;
  const reject = (code: string, message: string): null => {
    try {
      onReject?.({ code, message });
    } catch {
      // A failing listener must not turn a refused token into an exception.
    }
    return null;
  };

  /** A token not verified yet (or not any more): jose, then jwtUser's own claim checks. */
  const verify = async (token: string): Promise<KsUser | null> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        ...verifyOptions,
        currentDate: new Date(now()),
      }));
    } catch (error) {
      return reject(
        (error as { code?: string }).code ?? 'ERR_JWT_INVALID',
        (error as Error).message,
      );
    }
    // jose checks `iat` only against maxTokenAge: a token "issued" a year from now would pass.
    const issuedAt = claim(payload, 'iat');
    if (typeof issuedAt === 'number' && issuedAt > now() / 1000 + clockToleranceSeconds) {
      return reject(
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        '"iat" claim timestamp check failed (it should be in the past)',
      );
    }
    // A claim of the wrong type is a refused token (null: 401), never an exception (500).
    const id = claim(payload, userIdClaim);
    if (id === undefined) {
      return reject('ERR_JWT_CLAIM_MISSING', `The token has no ${userIdClaim} claim`);
    }
    // An integer id is kept (it has one exact decimal form); any other number would not round-trip.
    if (typeof id !== 'string' && !Number.isSafeInteger(id)) {
      return reject(
        'ERR_JWT_CLAIM_INVALID',
        `The token's ${userIdClaim} claim must be a string or an integer (got ${jsonType(id)})`,
      );
    }
    const user: KsUser = { id: String(id) };
    if (privilegesClaim !== undefined) {
      const privileges = claim(payload, privilegesClaim);
      if (privileges !== undefined) {
        // The engine checks what is inside (400 ERR_KS_INVALID_FIELD); the type is checked here.
        if (
          typeof privileges !== 'string' &&
          (typeof privileges !== 'object' || privileges === null || Array.isArray(privileges))
        ) {
          return reject(
            'ERR_JWT_CLAIM_INVALID',
            `The token's ${privilegesClaim} claim must be a string or an object (got ${jsonType(privileges)})`,
          );
        }
        user.privileges = privileges as PrivilegesInput;
      }
    }
    // jose required a numeric exp, and a numeric nbf and iat when present.
    verified?.set(token, user, payload as { exp: number; nbf?: number; iat?: number });
    return user;
  };
  return (req: HasHeaders): MaybePromise<KsUser | null> => {
    const authorization = headerValue(req, 'authorization');
    const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const token =
      bearer ??
      (cookie === undefined ? undefined : cookieValue(headerValue(req, 'cookie'), cookie));
    if (token === undefined || token === '') return null;
    const known = verified?.get(token, now());
    if (known !== undefined) return known;
    return verify(token);
  };
}
