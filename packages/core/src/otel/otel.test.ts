import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { METRICS } from './names.js';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

/** The packages an entry of core loads, following its imports through the source as Node would. */
async function packagesLoadedBy(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [decodeURIComponent(new URL(entry, root).pathname)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const external = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => i.external).map((i) => i.path),
  );
  return [...new Set(external)].sort();
}

describe('@opentelemetry/api is an optional peer: no cost when absent', () => {
  const entries = Object.entries(manifest.exports).flatMap(([name, target]) =>
    typeof target === 'string' ? [] : [[name, target['@kaltura-ks/source']!] as const],
  );

  it('is declared optional', () => {
    expect(manifest.peerDependenciesMeta['@opentelemetry/api']).toEqual({ optional: true });
  });

  it.each(entries.filter(([name]) => name !== './otel' && name !== './internal'))(
    'the %s entry never imports it',
    async (_, source) => {
      const loaded = await packagesLoadedBy(source);
      expect(loaded.length).toBeGreaterThan(0);
      expect(loaded.filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);
    },
  );

  it('the ./internal entry (helpers the packages share) imports no package at all', async () => {
    const internal = manifest.exports['./internal'] as Record<string, string>;
    expect(await packagesLoadedBy(internal['@kaltura-ks/source']!)).toEqual([]);
  });

  it('the ./otel entry imports it, and nothing else of OpenTelemetry', async () => {
    const otel = manifest.exports['./otel'];
    expect(otel).toMatchObject({ '@kaltura-ks/source': './src/otel/index.ts' });
    const loaded = await packagesLoadedBy((otel as Record<string, string>)['@kaltura-ks/source']!);
    expect(loaded.filter((name) => name.startsWith('@opentelemetry/'))).toEqual([
      '@opentelemetry/api',
    ]);
  });
});

describe('documentation', () => {
  it('the core README table lists exactly the metrics', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const documented = [...readme.matchAll(/^\| `(kaltura_ks\.[a-z_.]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.values(METRICS));
  });
});
