import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** React 18, its react-dom and a Testing Library bound to them: packages/testing's dev dependencies. */
const react18 = (name: string) =>
  fileURLToPath(new URL(`./packages/testing/node_modules/${name}`, import.meta.url));

/**
 * The slow suites: real servers, processes and clocks — the soak, the Redis fleet and its
 * kill -9, the live emulator and the cross-package contracts against it, the real Kaltura
 * Player, the demo. `pnpm test` runs them with the rest; `pnpm test:fast` leaves them out.
 */
const INTEGRATION = [
  'packages/testing/src/adapters/**/*.test.ts',
  'packages/testing/src/reliability/**/*.test.ts',
  'packages/testing/src/client-live.test.ts',
  'packages/testing/src/bins.test.ts',
  'packages/redis/src/**/*.test.ts',
  // The store contract and the fleet, against a real Redis (fleet-memory.test.ts is fast).
  'packages/testing/src/shared-store/store-contract.test.ts',
  'packages/testing/src/shared-store/issuer-fleet.test.ts',
  'packages/testing/src/shared-store/fleet-redis.test.ts',
  'packages/emulator/src/**/*.test.ts',
  'packages/cli/src/**/*.test.ts',
  'packages/browser/src/player.test.ts',
  'packages/react/src/player.test.ts',
  'apps/*/src/**/*.test.ts',
  'examples/*.test.ts',
];
const EXCLUDE = ['**/node_modules/**', '**/dist/**', '**/*.browser.test.ts'];

// One run from the root covers every package, against source (no build step):
// the `@kaltura-ks/source` export condition points workspace imports at `src/`.
export default defineConfig({
  resolve: {
    conditions: ['@kaltura-ks/source'],
  },
  ssr: {
    resolve: {
      conditions: ['@kaltura-ks/source'],
      externalConditions: ['@kaltura-ks/source'],
    },
  },
  test: {
    exclude: EXCLUDE,
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        // The fast tests (`pnpm test:fast`): in-process, injected clocks, seconds in all.
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: [...EXCLUDE, ...INTEGRATION],
          provide: { reactMajor: '19' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          provide: { reactMajor: '19' },
        },
      },
      {
        // @kaltura-ks/react's tests once more on React 18 (its peer range is 18 or 19; the
        // package itself installs 19): react, react-dom and Testing Library (installed with
        // React 18 as its peer) resolve to packages/testing's.
        extends: true,
        test: {
          name: 'react18',
          include: ['packages/react/src/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/size.test.ts'],
          provide: { reactMajor: '18' },
        },
        resolve: {
          alias: [
            { find: /^react(\/.*)?$/, replacement: `${react18('react')}$1` },
            { find: /^react-dom(\/.*)?$/, replacement: `${react18('react-dom')}$1` },
            { find: /^@testing-library\/react$/, replacement: react18('@testing-library/react') },
          ],
        },
      },
    ],
  },
});
