/**
 * The in-memory tier: the sessions cached for each user, least recently used
 * users first. A user may hold several sessions (other privileges, another
 * type); each is told apart by its request's shape (`RequestKeys`), a string
 * shared by every user asking alike. The map by user is both the cache and
 * the index a revocation needs, and a session's expiry is its own `expiresAt`:
 * per session, one map entry (per user), and a small entry object only beside a
 * second session or one of an uncommon shape.
 */
import type { Clock } from '../clock.js';
import { keyInfoOf, shapedKey } from './cache-key.js';
import type { KsEvictReason, KsKeyInfo, KsSession } from './types.js';

export interface LocalSessionsOptions {
  partnerId: number;
  max: number;
  now: Clock;
  /** Each session that leaves the cache, and why. */
  onEvict: (key: KsKeyInfo, reason: KsEvictReason) => void;
}

/** One cached session and the shape of the requests it answers. */
class Entry {
  constructor(
    readonly shape: string,
    public session: KsSession,
  ) {}
}

/**
 * A user's sessions: one as itself (most users have one), the session alone when its
 * shape is the common one, more in a list, least recently used first.
 */
type Slot = KsSession | Entry | Entry[];

export class LocalSessions {
  readonly #partnerId: number;
  readonly #max: number;
  readonly #now: Clock;
  readonly #onEvict: (key: KsKeyInfo, reason: KsEvictReason) => void;
  /** By user, in the order they were last used (a Map keeps insertion order). */
  readonly #byUser = new Map<string, Slot>();
  /**
   * The shape of the first session cached: a user's one session of this shape is kept
   * alone, without an `Entry` (most applications ask for one kind of session).
   */
  #common: string | undefined;
  /** The user last moved to the end of `#byUser`: moving them again changes nothing. */
  #newest: string | undefined;
  #size = 0;

  constructor(options: LocalSessionsOptions) {
    this.#partnerId = options.partnerId;
    this.#max = options.max;
    this.#now = options.now;
    this.#onEvict = options.onEvict;
  }

  get size(): number {
    return this.#size;
  }

  /** The user's session for requests of this shape, if cached and not expired (then the most recently used). */
  get(userId: string, shape: string): KsSession | undefined {
    const slot = this.#byUser.get(userId);
    if (slot === undefined) return undefined;
    const session = this.#sessionIn(slot, shape);
    if (session === undefined) return undefined;
    if (this.#expired(session)) {
      this.#delete(userId, slot, shape);
      this.#evicted(userId, shape, 'expired');
      return undefined;
    }
    this.#touch(userId, slot, shape);
    return session;
  }

  /** Caches `session` until its KS expires (not at all if it already has). */
  set(userId: string, shape: string, session: KsSession): void {
    // What lru-cache, which this replaced, did with a TTL of `expiresAt - now - 1` ms.
    if (session.expiresAt - this.#now() - 1 <= 0) return;
    const slot = this.#byUser.get(userId);
    const old = slot === undefined ? undefined : this.#sessionIn(slot, shape);
    if (slot === undefined) {
      this.#byUser.set(userId, this.#alone(shape, session));
      this.#size++;
    } else if (Array.isArray(slot)) {
      const entry = slot.find((e) => e.shape === shape);
      if (entry === undefined) slot.push(new Entry(shape, session));
      else entry.session = session;
      if (entry === undefined) this.#size++;
    } else if (old !== undefined) {
      this.#byUser.set(userId, this.#alone(shape, session));
    } else {
      this.#byUser.set(userId, [this.#entry(slot), new Entry(shape, session)]);
      this.#size++;
    }
    this.#touch(userId, this.#byUser.get(userId)!, shape);
    if (old !== undefined && old !== session) this.#evicted(userId, shape, 'replaced');
    while (this.#size > this.#max) this.#evictOldest();
  }

  /**
   * Drops every session of `userId` (evicted as `revoked`), calling `each` with
   * each one's cache key; returns the sessions dropped, expired ones included.
   */
  dropUser(
    userId: string,
    each: (key: string) => void,
  ): Array<{ info: KsKeyInfo; session: KsSession }> {
    const slot = this.#byUser.get(userId);
    if (slot === undefined) return [];
    this.#byUser.delete(userId);
    if (this.#newest === userId) this.#newest = undefined;
    const entries = this.#entries(slot);
    this.#size -= entries.length;
    const dropped: Array<{ info: KsKeyInfo; session: KsSession }> = [];
    for (const { shape, session } of entries) {
      const info = this.#info(userId, shape);
      dropped.push({ info, session });
      this.#onEvict(info, 'revoked');
      each(shapedKey(this.#partnerId, userId, shape));
    }
    return dropped;
  }

  /** Drops every session, evicted for `reason`. */
  clear(reason: KsEvictReason): void {
    const users = [...this.#byUser];
    this.#byUser.clear();
    this.#newest = undefined;
    this.#size = 0;
    for (const [userId, slot] of users) {
      for (const { shape } of this.#entries(slot)) this.#evicted(userId, shape, reason);
    }
  }

  /** Served up to `expiresAt - 1` ms, as lru-cache judged the TTL `set` gives. */
  #expired(session: KsSession): boolean {
    return this.#now() > session.expiresAt - 1;
  }

  #sessionIn(slot: Slot, shape: string): KsSession | undefined {
    if (Array.isArray(slot)) return slot.find((e) => e.shape === shape)?.session;
    if (slot instanceof Entry) return slot.shape === shape ? slot.session : undefined;
    return shape === this.#common ? slot : undefined;
  }

  /** A user's only session, as its slot holds it. */
  #alone(shape: string, session: KsSession): KsSession | Entry {
    this.#common ??= shape;
    return shape === this.#common ? session : new Entry(shape, session);
  }

  #entry(slot: KsSession | Entry): Entry {
    return slot instanceof Entry ? slot : new Entry(this.#common!, slot);
  }

  #entries(slot: Slot): Entry[] {
    return Array.isArray(slot) ? slot : [this.#entry(slot)];
  }

  /** Makes the user's session of `shape` their newest, and the user the most recently used. */
  #touch(userId: string, slot: Slot, shape: string): void {
    if (Array.isArray(slot) && slot[slot.length - 1]!.shape !== shape) {
      const at = slot.findIndex((e) => e.shape === shape);
      slot.push(...slot.splice(at, 1));
    }
    if (this.#newest === userId) return;
    this.#byUser.delete(userId);
    this.#byUser.set(userId, slot);
    this.#newest = userId;
  }

  /** Takes the session of `shape` out of its user's slot (and the user out of the map when it was the last). */
  #delete(userId: string, slot: Slot, shape: string): void {
    this.#size--;
    if (!Array.isArray(slot)) {
      this.#byUser.delete(userId);
      if (this.#newest === userId) this.#newest = undefined;
      return;
    }
    slot.splice(
      slot.findIndex((e) => e.shape === shape),
      1,
    );
    if (slot.length === 1) this.#byUser.set(userId, this.#alone(slot[0]!.shape, slot[0]!.session));
  }

  /** The least recently used user's oldest session goes. */
  #evictOldest(): void {
    const oldest = this.#byUser.entries().next();
    if (oldest.done === true) return;
    const [userId, slot] = oldest.value;
    const { shape } = Array.isArray(slot) ? slot[0]! : this.#entry(slot);
    this.#delete(userId, slot, shape);
    this.#evicted(userId, shape, 'capacity');
  }

  #evicted(userId: string, shape: string, reason: KsEvictReason): void {
    this.#onEvict(this.#info(userId, shape), reason);
  }

  #info(userId: string, shape: string): KsKeyInfo {
    return keyInfoOf(this.#partnerId, userId, shape);
  }
}
