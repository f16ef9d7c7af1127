/**
 * What `pnpm test:mutation` mutates, and which tests it runs against each group. A group is
 * one Stryker run with its own incremental state (`state/<group>.json`): only the tests
 * listed run (the dry run, and every mutant that no single test covers), so each stays
 * small and fast. Paths are relative to the repository root; no globs, so a file added to
 * the tree is added here on purpose.
 */
export interface MutationGroup {
  /** The production files whose mutants are scored (each must reach the threshold). */
  mutate: readonly (string | MutationRegion)[];
  /** The test files run against them. */
  tests: readonly string[];
}

/**
 * Part of a file: from the line holding `from` to the line before the one holding `to` (each
 * must occur once). Marked by code, not line numbers, so edits elsewhere do not move it.
 */
export interface MutationRegion {
  file: string;
  from: string;
  to: string;
}

const core = 'packages/core/src';
const browserClient = 'packages/browser/src/client.ts';
const redisStore = 'packages/redis/src/store.ts';

export const GROUPS = {
  /**
   * The KS parser: gates any rewrite of ks/. The ks groups are split by the path a KS takes
   * (read, written) so that a change to one side's tests re-tests only that side, and run the
   * example tests only: under instrumentation the property tests (ks.property.test.ts, run by
   * `pnpm test`) made each surviving mutant cost minutes, and a survivor is to be killed by a
   * test that states the behaviour anyway.
   */
  'ks-verify': {
    mutate: [
      `${core}/ks/verify.ts`,
      `${core}/ks/v2-query.ts`,
      `${core}/ks/read-text.ts`,
      `${core}/ks/bytes.ts`,
      `${core}/ks/base64.ts`,
      `${core}/ks/text.ts`,
    ],
    tests: [
      `${core}/ks/verify.test.ts`,
      `${core}/ks/verify-bom.test.ts`,
      `${core}/ks/verify-shape.test.ts`,
      `${core}/ks/v2-query.test.ts`,
      `${core}/ks/bytes.test.ts`,
      `${core}/ks/text.test.ts`,
      // base64.ts's own tests (decodeKsBase64, isPlainBase64) are with PHP's other functions.
      `${core}/ks/php.test.ts`,
    ],
  },
  /** The KS signer: its fields, the crypto and the PHP-compatible privileges query. */
  'ks-create': {
    mutate: [
      `${core}/ks/create.ts`,
      `${core}/ks/fields.ts`,
      `${core}/ks/crypto.ts`,
      `${core}/ks/php.ts`,
    ],
    tests: [
      `${core}/ks/create.test.ts`,
      `${core}/ks/create.sequence.test.ts`,
      `${core}/ks/create.grown-scratch.test.ts`,
      `${core}/ks/create.v1-reuse.test.ts`,
      `${core}/ks/sign-ks.test.ts`,
      `${core}/ks/fields.test.ts`,
      `${core}/ks/crypto.test.ts`,
      `${core}/ks/crypto.pool.test.ts`,
      `${core}/ks/php.test.ts`,
      `${core}/ks/php.parse-str.test.ts`,
      // crypto.ts's comparisons of hashes and signatures are verifyKs's.
      `${core}/ks/verify.test.ts`,
    ],
  },
  /** Privileges (what goes into a KS, what the server reserves) and the app token hash. */
  privileges: {
    mutate: [
      `${core}/privileges/privileges.ts`,
      `${core}/privileges/server-privileges.ts`,
      `${core}/app-token/hash.ts`,
    ],
    tests: [
      `${core}/privileges/privileges.test.ts`,
      `${core}/privileges/privileges.property.test.ts`,
      `${core}/privileges/server-privileges.test.ts`,
      `${core}/app-token/hash.test.ts`,
    ],
  },
  /** When the issuer renews a cached KS, and how it backs off. */
  policy: {
    mutate: [`${core}/issuer/policy.ts`, `${core}/backoff.ts`],
    tests: [
      `${core}/issuer/policy.test.ts`,
      `${core}/backoff.test.ts`,
      `${core}/issuer/issuer.test.ts`,
    ],
  },
  /**
   * The KS route under both adapters, and the JWT getUser. (Not the adapter contract suites:
   * their remote-minting deadlines of a few hundred ms do not hold for instrumented code.)
   */
  http: {
    mutate: [
      `${core}/http/engine.ts`,
      `${core}/http/jwt-user.ts`,
      `${core}/http/verified-tokens.ts`,
      `${core}/http/privilege-precedence.ts`,
      `${core}/http/report-rejected.ts`,
    ],
    tests: [
      `${core}/http/engine.test.ts`,
      `${core}/http/engine.route-refusals.test.ts`,
      `${core}/http/engine.warnings.test.ts`,
      `${core}/http/engine.creation.test.ts`,
      `${core}/http/engine.route-renewal.test.ts`,
      `${core}/http/jwt-user.test.ts`,
      `${core}/http/jwt-user.token-sources.test.ts`,
      `${core}/http/jwt-user.cache.test.ts`,
      `${core}/http/jwt-user.option-checks.test.ts`,
      `${core}/http/jwt-user.claims-and-keys.test.ts`,
      `${core}/http/verified-tokens.test.ts`,
      `${core}/http/verified-tokens.served-user.test.ts`,
      `${core}/http/verified-tokens.key.test.ts`,
      `${core}/http/privilege-precedence.test.ts`,
      `${core}/http/privilege-precedence.bare-names.test.ts`,
      `${core}/http/report-rejected.test.ts`,
      `${core}/http/report-rejected.bounds.test.ts`,
      'packages/testing/src/reliability/route-hardening.test.ts',
    ],
  },
  /**
   * The browser client: which KS it keeps (expiry on both clocks, the clock offset, what it
   * takes from another tab), and the tabs' coordination (cross-tab.ts: the channel, the one
   * renewal at a time, what a tab checks in another's session).
   */
  browser: {
    mutate: [
      'packages/browser/src/answer.ts',
      'packages/browser/src/cross-tab.ts',
      { file: browserClient, from: 'const left = ()', to: 'const drop =' },
      { file: browserClient, from: 'const receive =', to: 'const load =' },
      { file: browserClient, from: 'function check()', to: 'const wake =' },
      { file: browserClient, from: 'get current()', to: 'refresh: () =>' },
    ],
    tests: [
      'packages/browser/src/client.test.ts',
      'packages/browser/src/client.expiry-and-merge.test.ts',
      'packages/browser/src/cross-tab.test.ts',
      'packages/browser/src/cross-tab.edges.test.ts',
    ],
  },
  /** The Redis store: its keys, scripts, what it reads back, and the revocation fence. */
  redis: {
    mutate: [
      'packages/redis/src/keys.ts',
      'packages/redis/src/scripts.ts',
      'packages/redis/src/codec.ts',
      'packages/redis/src/revocation.ts',
      { file: redisStore, from: 'async get(key: KsStoreKey)', to: 'async lock(key: KsStoreKey' },
      { file: redisStore, from: 'async revoke(', to: 'async #revokeV1(' },
    ],
    tests: [
      'packages/redis/src/key-layout.test.ts',
      'packages/redis/src/codec.test.ts',
      'packages/redis/src/scripts.test.ts',
      'packages/redis/src/redis-store.test.ts',
      'packages/redis/src/revocation-faults.test.ts',
      'packages/redis/src/revocation.test.ts',
      'packages/redis/src/revocation.replicas.test.ts',
      'packages/redis/src/store-commands.test.ts',
      'packages/redis/src/key-channels.test.ts',
      'packages/testing/src/shared-store/issuer-fleet.test.ts',
      'packages/testing/src/shared-store/fleet-redis.test.ts',
    ],
  },
} as const satisfies Record<string, MutationGroup>;

export type GroupName = keyof typeof GROUPS;

export function isGroupName(name: string): name is GroupName {
  return Object.hasOwn(GROUPS, name);
}

/** The file a `mutate` entry is in. */
export function fileOf(entry: string | MutationRegion): string {
  return typeof entry === 'string' ? entry : entry.file;
}

/** The files a group mutates, each once. */
export function filesOf(group: MutationGroup): string[] {
  return [...new Set(group.mutate.map(fileOf))];
}
