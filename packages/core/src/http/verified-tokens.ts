import type { KsUser } from './types.js';

/** The time claims of a verified token (seconds since the epoch), as jose read them. */
export interface TokenTimes {
  exp: number;
  nbf?: number;
  iat?: number;
}

interface Entry extends TokenTimes {
  token: string;
  user: KsUser;
}

/**
 * A short key for a token: its last 8 characters read as a number (for a JWS, 48 bits of its
 * signature). Hashing a whole token for a Map costs ~2 ns a character, ~0.4 µs for a typical
 * 215-character JWT on every signed-in request; this costs a few ns. It only finds an entry:
 * the entry then has to hold the very same token, so two tokens that share a key never stand
 * for each other (at worst the later one takes the earlier one's place).
 */
function keyOf(token: string): number {
  let key = 0;
  for (let i = Math.max(0, token.length - 8); i < token.length; i++)
    key = key * 64 + (token.charCodeAt(i) & 63);
  return key;
}

/**
 * Tokens `jwtUser` has verified, by token, with the user each gave: a repeated
 * token is served without verifying its signature again, but never at or past
 * its `exp`, and only while its `nbf` and `iat` would still pass at that moment
 * (an injected clock may go back). Bounded: when full, the oldest entry goes.
 */
export class VerifiedTokens {
  readonly #max: number;
  readonly #toleranceSeconds: number;
  readonly #entries = new Map<number, Entry>();

  constructor(max: number, toleranceSeconds: number) {
    this.#max = max;
    this.#toleranceSeconds = toleranceSeconds;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy of the user a token gave when it was verified, if its time claims hold at `nowMs`. */
  get(token: string, nowMs: number): KsUser | undefined {
    const key = keyOf(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    // jose's clock: whole seconds.
    const now = Math.floor(nowMs / 1000);
    if (now >= entry.exp) {
      this.#entries.delete(key);
      return undefined;
    }
    const tolerance = this.#toleranceSeconds;
    // Not valid yet, or "issued" in the future, on a clock that went back: verify it again.
    if (entry.nbf !== undefined && entry.nbf > now + tolerance) return undefined;
    if (entry.iat !== undefined && entry.iat > nowMs / 1000 + tolerance) return undefined;
    return copyOf(entry.user);
  }

  /** Keeps a verified token's user (a copy) until its `exp`. */
  set(token: string, user: KsUser, times: TokenTimes): void {
    if (this.#max === 0) return;
    const key = keyOf(token);
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      this.#entries.delete(this.#entries.keys().next().value as number);
    }
    this.#entries.set(key, {
      token,
      user: copyOf(user),
      exp: times.exp,
      nbf: times.nbf,
      iat: times.iat,
    });
  }
}

/** A user nobody else holds: what a caller does to one it was given never reaches the cache. */
function copyOf(user: KsUser): KsUser {
  const copy = { ...user };
  // A string is immutable; a privileges object (from a claim) is copied whole.
  if (typeof user.privileges === 'object') copy.privileges = structuredClone(user.privileges);
  return copy;
}
