import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AppTokenHashType, createKs, KsError, type KsVersion } from '@kaltura-ks/core';
import { invalidOption } from '@kaltura-ks/core/internal';

/** A partner (account) as given to `startEmulator`. Secrets are any non-empty strings without `,`. */
export interface PartnerOptions {
  id: number;
  adminSecret: string;
  userSecret: string;
  /** The partner's `ks_max_expiry_in_seconds`: every expiry asked for is clamped to it. Default 86400. */
  maxKsExpirySeconds?: number;
  /** The KS version the partner issues. Default 2 (Kaltura's own default is 1). */
  ksVersion?: KsVersion;
  /** Extra enabled admin secrets: accepted by `session.start` and when verifying a KS. */
  additionalAdminSecrets?: readonly string[];
}

/** A partner as the emulator holds it: every field filled in. */
export interface PartnerRecord {
  readonly id: number;
  readonly adminSecret: string;
  readonly userSecret: string;
  readonly maxKsExpirySeconds: number;
  readonly ksVersion: KsVersion;
  readonly additionalAdminSecrets: readonly string[];
}

/** A user who can `user.loginByLoginId`. */
export interface UserOptions {
  partnerId: number;
  loginId: string;
  password: string;
  userId: string;
  /** Admin users get an ADMIN (type 2) KS at login. Default false. */
  isAdmin?: boolean;
}

export type UserRecord = Readonly<Required<UserOptions>>;

export const AppTokenStatus = { DISABLED: 1, ACTIVE: 2, DELETED: 3 } as const;
export type AppTokenStatus = (typeof AppTokenStatus)[keyof typeof AppTokenStatus];

export interface AppTokenRecord {
  id: string;
  token: string;
  partnerId: number;
  createdAt: number;
  updatedAt: number;
  status: AppTokenStatus;
  expiry: number | null;
  sessionType: number | null;
  sessionUserId: string | null;
  sessionDuration: number | null;
  sessionPrivileges: string | null;
  hashType: AppTokenHashType;
  description: string | null;
}

const DEFAULT_MAX_EXPIRY_SECONDS = 86_400;
const STATE_KIND = 'kaltura-ks-emulator-state';
const STATE_VERSION = 1;

function checkSecretOption(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes(',')) {
    // Kaltura joins admin secrets with "," (spec §1): a secret containing one cannot work.
    throw invalidOption(`${name} must be a non-empty string without ","`);
  }
  return value;
}

function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption(`${name} must be a positive integer`);
  }
  return value;
}

export function toPartnerRecord(options: PartnerOptions, name = 'partners[]'): PartnerRecord {
  if (typeof options !== 'object' || options === null)
    throw invalidOption(`${name} must be an object`);
  const version = options.ksVersion ?? 2;
  if (version !== 1 && version !== 2) throw invalidOption(`${name}.ksVersion must be 1 or 2`);
  const additional = options.additionalAdminSecrets ?? [];
  if (!Array.isArray(additional))
    throw invalidOption(`${name}.additionalAdminSecrets must be an array`);
  return {
    id: checkPositiveInt(options.id, `${name}.id`),
    adminSecret: checkSecretOption(options.adminSecret, `${name}.adminSecret`),
    userSecret: checkSecretOption(options.userSecret, `${name}.userSecret`),
    maxKsExpirySeconds:
      options.maxKsExpirySeconds === undefined || options.maxKsExpirySeconds === 0
        ? DEFAULT_MAX_EXPIRY_SECONDS
        : checkPositiveInt(options.maxKsExpirySeconds, `${name}.maxKsExpirySeconds`),
    ksVersion: version,
    additionalAdminSecrets: Object.freeze(
      additional.map((s, i) => checkSecretOption(s, `${name}.additionalAdminSecrets[${i}]`)),
    ),
  };
}

export function toUserRecord(options: UserOptions, name = 'users[]'): UserRecord {
  if (typeof options !== 'object' || options === null)
    throw invalidOption(`${name} must be an object`);
  const partnerId = checkPositiveInt(options.partnerId, `${name}.partnerId`);
  if (typeof options.loginId !== 'string' || options.loginId.trim() === '') {
    throw invalidOption(`${name}.loginId must be a non-empty string`);
  }
  if (typeof options.password !== 'string' || options.password === '') {
    throw invalidOption(`${name}.password must be a non-empty string`);
  }
  if (typeof options.userId !== 'string' || options.userId === '') {
    throw invalidOption(`${name}.userId must be a non-empty string`);
  }
  try {
    // The KS made at login carries this id: refuse one core would refuse to sign, now, not per request.
    createKs({ secret: 'probe', partnerId, userId: options.userId });
  } catch {
    throw invalidOption(
      `${name}.userId is not a safe KS user id (no ";", control characters, "*", at most 100 characters)`,
    );
  }
  return Object.freeze({
    partnerId,
    loginId: options.loginId.trim(),
    password: options.password,
    userId: options.userId,
    isAdmin: options.isAdmin === true,
  });
}

/** A partner with random secrets (32 lower-case hex, like Kaltura's) and a random seven-digit id. */
export function generatePartner(): PartnerRecord {
  return toPartnerRecord({
    id: randomInt(1_000_000, 10_000_000),
    adminSecret: randomBytes(16).toString('hex'),
    userSecret: randomBytes(16).toString('hex'),
  });
}

export function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** Compares two secrets without leaking, through timing, how much of them matched. */
export function secretEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** The revocation key of a `sessionid:<id>` group (spec §4.7). */
export function sessionIdHash(partnerId: number, sessionId: string): string {
  return sha1Hex(`${partnerId}_${sessionId}`);
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

interface StateFile {
  kind: typeof STATE_KIND;
  version: typeof STATE_VERSION;
  partners: PartnerRecord[];
  users: UserRecord[];
  appTokens: AppTokenRecord[];
  /** [KS hash, validUntil]: a revoked KS matters only until it expires. */
  revokedKs: [string, number][];
  revokedSessionIds: string[];
}

/**
 * Everything the emulator remembers: partners, users, app tokens, revocations. All
 * lookups are maps, so a request costs the same with one token or a million.
 */
export class EmulatorState {
  readonly partners = new Map<number, PartnerRecord>();
  readonly #secrets = new Map<number, readonly string[]>();
  readonly #usersByLogin = new Map<string, UserRecord[]>();
  readonly appTokens = new Map<string, AppTokenRecord>();
  readonly #revokedKs = new Map<string, number>();
  readonly #revokedSessionIds = new Set<string>();
  readonly #persistPath: string | undefined;
  readonly #nowSeconds: () => number;
  #queue: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #writing = false;
  #idle: Promise<void> = Promise.resolve();

  constructor(persistPath: string | undefined, nowSeconds: () => number) {
    this.#persistPath = persistPath;
    this.#nowSeconds = nowSeconds;
  }

  upsertPartner(partner: PartnerRecord): void {
    this.partners.set(partner.id, partner);
    this.#secrets.set(
      partner.id,
      Object.freeze([partner.adminSecret, ...partner.additionalAdminSecrets]),
    );
  }

  /** The admin secrets a KS of this partner may be signed with, in Kaltura's order. */
  secretsFor(partnerId: number): readonly string[] | undefined {
    return this.#secrets.get(partnerId);
  }

  upsertUser(user: UserRecord): void {
    const key = user.loginId.toLowerCase();
    const list = (this.#usersByLogin.get(key) ?? []).filter((u) => u.partnerId !== user.partnerId);
    list.push(user);
    this.#usersByLogin.set(key, list);
  }

  /** Login ids match case-insensitively (they are e-mail addresses, and MySQL compares them so). */
  findUser(loginId: string, partnerId: number | undefined): UserRecord | undefined {
    const list = this.#usersByLogin.get(loginId.toLowerCase());
    if (list === undefined) return undefined;
    return partnerId === undefined ? list[0] : list.find((u) => u.partnerId === partnerId);
  }

  hasUser(partnerId: number, userId: string): boolean {
    for (const list of this.#usersByLogin.values()) {
      if (list.some((u) => u.partnerId === partnerId && u.userId === userId)) return true;
    }
    return false;
  }

  get users(): UserRecord[] {
    return [...this.#usersByLogin.values()].flat();
  }

  /** A fresh app token id in Kaltura's shape: data-centre prefix, `_`, eight base-36 characters. */
  newAppTokenId(): string {
    for (;;) {
      const bytes = randomBytes(8);
      let id = '0_';
      for (const byte of bytes) id += BASE36[byte % 36];
      if (!this.appTokens.has(id)) return id;
    }
  }

  revokeKs(hash: string, validUntil: number): void {
    this.#revokedKs.set(hash, validUntil);
  }

  isKsRevoked(hash: string): boolean {
    return this.#revokedKs.has(hash);
  }

  revokeSessionId(partnerId: number, sessionId: string): void {
    this.#revokedSessionIds.add(sessionIdHash(partnerId, sessionId));
  }

  isSessionIdRevoked(partnerId: number, sessionId: string): boolean {
    return (
      this.#revokedSessionIds.size > 0 &&
      this.#revokedSessionIds.has(sessionIdHash(partnerId, sessionId))
    );
  }

  /** Reads the state file, if there is one. A file that exists but cannot be read is an error, not a fresh start. */
  async load(): Promise<boolean> {
    const path = this.#persistPath;
    if (path === undefined) return false;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw invalidOption(
        `persistPath: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    let file: StateFile;
    try {
      file = JSON.parse(text) as StateFile;
      if (file.kind !== STATE_KIND || file.version !== STATE_VERSION)
        throw new Error('not an emulator state file');
      file.partners.forEach((p, i) => {
        this.upsertPartner(toPartnerRecord(p, `partners[${i}]`));
      });
      file.users.forEach((u, i) => {
        this.upsertUser(toUserRecord(u, `users[${i}]`));
      });
      for (const token of file.appTokens) {
        if (typeof token.id !== 'string' || typeof token.token !== 'string')
          throw new Error('bad app token');
        this.appTokens.set(token.id, { ...token });
      }
      for (const [hash, validUntil] of file.revokedKs)
        this.#revokedKs.set(String(hash), Number(validUntil));
      for (const hash of file.revokedSessionIds) this.#revokedSessionIds.add(String(hash));
    } catch (error) {
      const reason = error instanceof KsError ? error.message : 'not an emulator state file';
      throw invalidOption(`persistPath: ${path} holds no usable emulator state: ${reason}`);
    }
    return true;
  }

  #serialize(): string {
    const now = this.#nowSeconds();
    for (const [hash, validUntil] of this.#revokedKs)
      if (validUntil <= now) this.#revokedKs.delete(hash);
    const file: StateFile = {
      kind: STATE_KIND,
      version: STATE_VERSION,
      partners: [...this.partners.values()],
      users: this.users,
      appTokens: [...this.appTokens.values()],
      revokedKs: [...this.#revokedKs],
      revokedSessionIds: [...this.#revokedSessionIds],
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  }

  /**
   * Writes the state file atomically (a 0600 temp file, then rename) and resolves once a
   * write that includes every change made before the call is on disk. Concurrent calls
   * share writes. Without `persistPath` it does nothing.
   */
  save(): Promise<void> {
    if (this.#persistPath === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => {
      this.#queue.push({ resolve, reject });
    });
    this.#kick();
    return done;
  }

  /** Resolves when no write is pending. */
  flush(): Promise<void> {
    return this.#writing || this.#queue.length > 0 ? this.save().catch(() => {}) : this.#idle;
  }

  #kick(): void {
    const path = this.#persistPath;
    if (this.#writing || this.#queue.length === 0 || path === undefined) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#writing = true;
    const data = this.#serialize();
    this.#idle = writeAtomically(path, data).then(
      () => {
        for (const waiter of batch) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of batch) waiter.reject(error);
      },
    );
    this.#idle.finally(() => {
      this.#writing = false;
      this.#kick();
    });
  }
}

async function writeAtomically(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // The file holds partner secrets: owner-only from the first byte.
    await writeFile(temp, data, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
