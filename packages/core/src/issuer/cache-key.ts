/**
 * A request, validated and keyed: the cache key, the shared store's key, what
 * the minter is asked for and what events report — and the three forms of
 * its privileges those need.
 */
import { KsError } from '../errors.js';
import { checkType, checkUserId } from '../ks/fields.js';
import { KsType, type KsVersion } from '../ks/types.js';
import { invalidOption } from '../options.js';
import {
  formatPrivileges,
  normalizePrivileges,
  type PrivilegesInput,
} from '../privileges/privileges.js';
import type { MintRequest } from './minter.js';
import type { KsStoreKey } from './store.js';
import type { KsKeyInfo, KsRequest } from './types.js';

/** A request's privileges, in the three forms the issuer uses. */
export interface PrivilegeForms {
  /**
   * As the KS carries them: the caller's string, validated and formatted
   * (`formatPrivileges`). What the minter is asked for.
   */
  readonly asMinted: string;
  /**
   * What they mean, in one canonical form (`normalizePrivileges` under the
   * first KS version the KS may be read with): what `KsKeyInfo` and events report.
   */
  readonly canonical: string;
  /**
   * Their part of the cache key: the canonical form under every KS version the
   * KS may be read with — once when those agree, each on a line of its own when
   * not (v1 merges a repeated name, v2 keeps the last). Its first line is
   * always `canonical`.
   */
  readonly keyed: string;
  /** A request's shape for a USER and for an ADMIN session: `${type}\n${keyed}` (see `RequestKeys.keyed`). */
  readonly userShape: string;
  readonly adminShape: string;
}

/** How many privilege strings keep their forms memoised (then the memo starts again). */
const MEMO_MAX = 1024;

/** Kaltura's test is a substring one (`widget:1` anywhere); refuse any `widget` name too. */
function isWidgetLike(forms: PrivilegeForms): boolean {
  return (
    forms.asMinted.includes('widget:1') ||
    forms.canonical.split(',').some((entry) => entry === 'widget' || entry.startsWith('widget:'))
  );
}

/**
 * A request, validated and keyed. What a mint needs, what events report and even the
 * cache key string are made only when asked for: a cache hit needs the user and the shape.
 */
export class KeyedRequest {
  #key: string | undefined;
  #info: KsKeyInfo | undefined;
  #storeKey: KsStoreKey | undefined;
  constructor(
    private readonly partnerId: number,
    readonly userId: string,
    private readonly type: KsType,
    private readonly privileges: PrivilegeForms,
    /** What the user's sessions are told apart by: the type and the privileges' key form. */
    readonly shape: string,
    private readonly expiresInSeconds: number,
    /** How this issuer mints (`app-token:<id>`...): sessions are shared only between issuers that mint alike. */
    private readonly minting: string,
  ) {}

  /** The cache key: partner, type, user and the privileges' key form (flights, failures, the store). */
  get key(): string {
    this.#key ??= shapedKey(this.partnerId, this.userId, this.shape);
    return this.#key;
  }

  /** The key in the shared store: the cache key and the way of minting. */
  get storeKey(): KsStoreKey {
    this.#storeKey ??= {
      partnerId: this.partnerId,
      userId: this.userId,
      id: `${this.minting}\n${this.key}`,
    };
    return this.#storeKey;
  }

  get mint(): MintRequest {
    return {
      userId: this.userId,
      type: this.type,
      privileges: this.privileges.asMinted,
      expiresInSeconds: this.expiresInSeconds,
    };
  }

  get info(): KsKeyInfo {
    this.#info ??= {
      partnerId: this.partnerId,
      userId: this.userId,
      type: this.type,
      privileges: this.privileges.canonical,
    };
    return this.#info;
  }
}

/** Keys the requests of one issuer. */
export class RequestKeys {
  readonly #memo = new Map<string, PrivilegeForms>();

  constructor(
    private readonly partnerId: number,
    private readonly expiresInSeconds: number,
    /** How this issuer mints (see `KeyedRequest`). */
    private readonly minting: string,
    /** Every KS version a KS of this issuer may be read with: the first is the strictest. */
    private readonly versions: readonly KsVersion[],
  ) {}

  /** The request keyed last, and what it was asked with: `getCachedKs ?? getKs` keys a miss once. */
  #last: { userId: unknown; type: unknown; privileges: unknown; keyed: KeyedRequest } | undefined;

  keyed(request: KsRequest): KeyedRequest {
    if (typeof request !== 'object' || request === null)
      throw invalidOption('getKs needs a request with a userId');
    const last = this.#last;
    // Only values compared: privileges given as a record could have changed since.
    if (
      last !== undefined &&
      request.userId === last.userId &&
      request.type === last.type &&
      request.privileges === last.privileges &&
      typeof request.privileges !== 'object'
    ) {
      return last.keyed;
    }
    const keyed = this.#keyed(request);
    this.#last = {
      userId: request.userId,
      type: request.type,
      privileges: request.privileges,
      keyed,
    };
    return keyed;
  }

  #keyed(request: KsRequest): KeyedRequest {
    const userId = checkUserId(request.userId);
    const type = checkType(request.type ?? KsType.USER);
    const privileges = this.#forms(request.privileges ?? '');
    if (type === KsType.USER && (userId === '' || userId === '0') && isWidgetLike(privileges)) {
      throw new KsError(
        'ERR_KS_INVALID_FIELD',
        'An anonymous USER KS with the widget privilege is a widget session, which Kaltura never checks for revocation; use session.startWidgetSession for one',
      );
    }
    return new KeyedRequest(
      this.partnerId,
      userId,
      type,
      privileges,
      type === KsType.USER ? privileges.userShape : privileges.adminShape,
      this.expiresInSeconds,
      this.minting,
    );
  }

  #forms(raw: PrivilegesInput): PrivilegeForms {
    let forms = typeof raw === 'string' ? this.#memo.get(raw) : undefined;
    if (forms !== undefined) return forms;
    // Validate with the strictest rules the KS may be read with (v1 where a remote minter
    // may meet a v1 partner), and key by the meaning under every version it may be read
    // with: v1 merges a repeated name (`edit:a,edit:b`), v2 keeps the last, so two
    // requests share a KS only when they grant the same under both.
    const asMinted = formatPrivileges(raw, this.versions[0]);
    const each = this.versions.map((version) => normalizePrivileges(asMinted, version));
    const canonical = each[0] ?? '';
    const keyed = each.every((form) => form === canonical) ? canonical : each.join('\n');
    forms = {
      asMinted,
      canonical,
      keyed,
      userShape: `${KsType.USER}\n${keyed}`,
      adminShape: `${KsType.ADMIN}\n${keyed}`,
    };
    if (typeof raw === 'string') {
      if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
      this.#memo.set(raw, forms);
    }
    return forms;
  }
}

/**
 * The cache key of a user's request of this shape: `partnerId\ntype\nuserId\n` and the
 * privileges' key form. Fields cannot contain control characters, so "\n" separates them
 * unambiguously (the privileges come last: their key form may hold one "\n" of its own).
 * The shared store's keys are made of it: its layout is theirs.
 */
export function shapedKey(partnerId: number, userId: string, shape: string): string {
  const at = shape.indexOf('\n');
  return `${partnerId}\n${shape.slice(0, at)}\n${userId}\n${shape.slice(at + 1)}`;
}

/**
 * What a cached session stands for, read back from its user and shape rather than kept
 * beside it: the shape is `type\n` and the privileges' key form, whose first line is
 * their canonical form.
 */
export function keyInfoOf(partnerId: number, userId: string, shape: string): KsKeyInfo {
  const at = shape.indexOf('\n');
  const end = shape.indexOf('\n', at + 1);
  return {
    partnerId,
    userId,
    type: Number(shape.slice(0, at)),
    privileges: shape.slice(at + 1, end < 0 ? undefined : end),
  };
}
