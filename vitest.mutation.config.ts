import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import unit from './vitest.config.js';

// The unit config as StrykerJS runs it (`pnpm test:mutation`, scripts/mutation). Stryker copies
// the repository into a sandbox and mutates the copy, but pnpm's workspace links
// (node_modules/@kaltura-ks/*) still point at the original packages: every `@kaltura-ks/…`
// import is therefore aliased to the `src/` beside this file (in the sandbox, the mutated copy),
// read from each package's own `@kaltura-ks/source` export condition.
const root = fileURLToPath(new URL('.', import.meta.url));

function workspaceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of readdirSync(`${root}packages`)) {
    const manifest = JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8')) as {
      name: string;
      exports?: Record<string, string | Record<string, string>>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const source = typeof target === 'object' ? target['@kaltura-ks/source'] : undefined;
      if (source === undefined) continue;
      const specifier = manifest.name + subpath.slice(1); // '.' → name, './http' → name/http
      aliases.push({
        find: new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`),
        replacement: `${root}packages/${dir}/${source.slice(2)}`,
      });
    }
  }
  return aliases;
}

// Property tests are the slowest: run them after the example tests, which usually kill a
// mutant first (Stryker stops at the first failing test).
class PropertiesLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isProperty = (file: TestSpecification) => file.moduleId.includes('.property.test.');
    return [...sorted.filter((f) => !isProperty(f)), ...sorted.filter(isProperty)];
  }
}

export default defineConfig({
  resolve: { ...unit.resolve, alias: workspaceAliases() },
  ssr: unit.ssr,
  test: {
    ...unit.test,
    // Instrumented code on a busy machine is several times slower: a slow test must not fail
    // the dry run. Stryker bounds each mutant's run with its own timeout.
    testTimeout: 120_000,
    // A fixed fast-check seed: a mutant is killed, or not, the same way on every run.
    setupFiles: [`${root}scripts/mutation/fixed-seed.ts`],
    sequence: { sequencer: PropertiesLast },
  },
});
