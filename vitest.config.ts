import { defineConfig } from 'vitest/config';

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
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'examples/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.browser.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
