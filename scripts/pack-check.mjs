#!/usr/bin/env node
// Packs every published package as `pnpm publish` would and checks the tarballs:
// what they carry (no tests, no test helpers, no stale build output, every file `exports`
// and `bin` name), publint, and attw's esm-only profile. Needs `pnpm build` first.
//
//   node scripts/pack-check.mjs [--keep <dir>]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { problems, publishedPackages } from './package-metadata.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const keepAt = process.argv.indexOf('--keep');
const out = keepAt > 0 ? process.argv[keepAt + 1] : mkdtempSync(join(tmpdir(), 'ks-pack-'));
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const run = (file, args, cwd = ROOT) =>
  execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Every file path a package.json field names: export targets under every condition, bins. */
function namedFiles(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(namedFiles);
}

function contentProblems(files, pkg) {
  const found = [];
  const has = new Set(files);
  for (const file of files) {
    if (/(^|\/)test-utils\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file))
      found.push(`ships a test file: ${file}`);
    const built = /^dist\/(.+)\.js$/.exec(file);
    if (built && !has.has(`src/${built[1]}.ts`) && !has.has(`src/${built[1]}.tsx`))
      found.push(`ships ${file} with no source: stale build output (delete dist/ and build)`);
  }
  for (const target of [...namedFiles(pkg.exports), ...namedFiles(pkg.bin)]) {
    if (target.endsWith('/package.json') || target === './package.json') continue;
    if (!has.has(target.replace(/^\.\//, '')))
      found.push(`names ${target}, which it does not ship`);
  }
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json'])
    if (!has.has(file)) found.push(`does not ship ${file}`);
  const spec = JSON.stringify({ ...pkg.dependencies, ...pkg.peerDependencies });
  if (spec.includes('workspace:')) found.push('keeps a workspace: dependency');
  return found;
}

let failed = false;
const report = (name, found) => {
  for (const problem of found) console.error(`${name}: ${problem}`);
  failed ||= found.length > 0;
};

const packages = publishedPackages();
// One pnpm for every package: it writes workspace: ranges as the versions they stand for.
run('npx', [
  '-y',
  'pnpm@10',
  '--recursive',
  ...packages.flatMap(({ pkg }) => ['--filter', pkg.name]),
  'pack',
  '--pack-destination',
  out,
]);

for (const { dir, pkg } of packages) {
  const name = pkg.name;
  report(name, problems(dir, pkg));
  const tarball = join(out, `${name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`);
  const files = run('tar', ['-tzf', tarball])
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  const packedPkg = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json']));
  report(name, contentProblems(files, packedPkg));
  for (const [tool, args] of [
    ['publint', ['run', tarball, '--strict']],
    ['attw', [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color']],
  ]) {
    try {
      run(bin(tool), args);
    } catch (error) {
      report(name, [`${tool}:\n${error.stdout}${error.stderr}`]);
    }
  }
  console.log(`${name}: ${files.length} files, ${tarball}`);
}

if (keepAt < 0) rmSync(out, { recursive: true, force: true });
if (failed) process.exitCode = 1;
else console.log('pack check: every tarball is clean, and passes publint and attw (esm-only)');
