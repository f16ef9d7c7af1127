/**
 * What `pnpm test:mutation` mutates, and which tests it runs against each group. A group is
 * one Stryker run with its own incremental state (`state/<group>.json`): only the tests
 * listed run (the dry run, and every mutant that no single test covers), so each stays
 * small and fast. Paths are relative to the repository root; no globs, so a file added to
 * the tree is added here on purpose.
 */
export interface MutationGroup {
  /** The production files whose mutants are scored (each must reach the threshold). */
  mutate: readonly string[];
  /** The test files run against them. */
  tests: readonly string[];
}

const core = 'packages/core/src';

export const GROUPS = {
  /** The KS signer and parser: gates any rewrite of ks/. */
  ks: {
    mutate: [
      `${core}/ks/verify.ts`,
      `${core}/ks/create.ts`,
      `${core}/ks/fields.ts`,
      `${core}/ks/base64.ts`,
      `${core}/ks/crypto.ts`,
      `${core}/ks/php.ts`,
      `${core}/ks/text.ts`,
      `${core}/privileges/privileges.ts`,
      `${core}/privileges/server-privileges.ts`,
      `${core}/app-token/hash.ts`,
    ],
    tests: [
      `${core}/ks/verify.test.ts`,
      `${core}/ks/create.test.ts`,
      `${core}/ks/crypto.test.ts`,
      `${core}/ks/fields.test.ts`,
      `${core}/ks/text.test.ts`,
      `${core}/ks/php.test.ts`,
      `${core}/ks/ks.property.test.ts`,
      `${core}/privileges/privileges.test.ts`,
      `${core}/privileges/privileges.property.test.ts`,
      `${core}/app-token/hash.test.ts`,
    ],
  },
  /** When the issuer renews a cached KS, and how it backs off. */
  policy: {
    mutate: [`${core}/issuer/policy.ts`],
    tests: [`${core}/issuer/policy.test.ts`, `${core}/issuer/issuer.test.ts`],
  },
} as const satisfies Record<string, MutationGroup>;

export type GroupName = keyof typeof GROUPS;

export function isGroupName(name: string): name is GroupName {
  return Object.hasOwn(GROUPS, name);
}
