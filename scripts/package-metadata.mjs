#!/usr/bin/env node
// The metadata every published package carries, checked (and with --fix, written).
//
//   node scripts/package-metadata.mjs          # exit 1 listing what is missing
//   node scripts/package-metadata.mjs --fix    # writes it into each packages/*/package.json
//
// Published = every packages/* without "private": true. CONTRIBUTING.md says why each
// field is there; a new package gets them with --fix.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The one place the repository's address is written. */
const REPOSITORY = 'https://github.com/kaltura-ks/kaltura-ks';
/** `require()` of an ES module works without a flag from Node 20.19 (and 22.12). */
const NODE_ENGINES = '>=20.19.0';
/** What `files` must leave out of every tarball: tests and the helpers only tests use. */
const FILES_EXCLUDED = ['!src/**/*.test.ts', '!src/**/test-utils'];

export function publishedPackages() {
  return readdirSync(join(ROOT, 'packages'))
    .map((dir) => ({ dir, path: join(ROOT, 'packages', dir, 'package.json') }))
    .filter(({ path }) => existsSync(path))
    .map(({ dir, path }) => ({ dir, path, pkg: JSON.parse(readFileSync(path, 'utf8')) }))
    .filter(({ pkg }) => pkg.private !== true);
}

/** The fields a package must have, as they should read. */
function expected(dir, pkg) {
  const included = (pkg.files ?? []).filter((entry) => !entry.startsWith('!'));
  const files = [
    ...new Set([...(pkg.bin ? ['bin'] : []), 'dist', 'src', 'CHANGELOG.md', ...included]),
    ...FILES_EXCLUDED,
  ];
  return {
    homepage: `${REPOSITORY}/tree/main/packages/${dir}#readme`,
    bugs: { url: `${REPOSITORY}/issues` },
    repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${dir}` },
    license: 'MIT',
    type: 'module',
    sideEffects: pkg.sideEffects ?? false,
    engines: { ...pkg.engines, node: NODE_ENGINES },
    files,
    publishConfig: { ...pkg.publishConfig, access: 'public' },
  };
}

/** What is wrong with one package (empty when nothing). */
export function problems(dir, pkg) {
  const found = [];
  for (const [field, value] of Object.entries(expected(dir, pkg)))
    if (JSON.stringify(pkg[field]) !== JSON.stringify(value))
      found.push(`${field} should be ${JSON.stringify(value)}`);
  for (const field of ['description', 'keywords', 'exports'])
    if (pkg[field] === undefined) found.push(`${field} is missing`);
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target !== 'object') continue;
    const conditions = Object.keys(target).filter((c) => c !== '@kaltura-ks/source');
    if (conditions[0] !== 'types' || conditions.at(-1) !== 'default')
      found.push(
        `exports["${subpath}"]: "types" first and "default" last, after @kaltura-ks/source`,
      );
  }
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE'])
    if (!existsSync(join(ROOT, 'packages', dir, file))) found.push(`${file} is missing`);
  return found;
}

function fix(dir, path, pkg) {
  // Fields already there keep their place; missing ones are added at the end.
  writeFileSync(path, `${JSON.stringify({ ...pkg, ...expected(dir, pkg) }, null, 2)}\n`);
  const license = join(ROOT, 'packages', dir, 'LICENSE');
  if (!existsSync(license)) copyFileSync(join(ROOT, 'LICENSE'), license);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const writing = process.argv.includes('--fix');
  let failed = false;
  for (const { dir, path, pkg } of publishedPackages()) {
    if (writing) fix(dir, path, pkg);
    const found = problems(dir, JSON.parse(readFileSync(path, 'utf8')));
    for (const problem of found) console.error(`packages/${dir}: ${problem}`);
    failed ||= found.length > 0;
  }
  if (failed) {
    console.error(
      'Run node scripts/package-metadata.mjs --fix (CHANGELOG.md and README.md are yours to write).',
    );
    process.exitCode = 1;
  } else console.log('package metadata: every published package has it');
}
