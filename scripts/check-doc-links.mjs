#!/usr/bin/env node
// Checks every link of a generated HTML site (the TypeDoc API reference, docs/api by
// default): each local href/src names a file that exists, and each #anchor an id in it.
// Links off the site (http:, https:, mailto:) are listed, not fetched: CI has no network.
//
//   node scripts/check-doc-links.mjs [dir]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const site = resolve(ROOT, process.argv[2] ?? 'docs/api');

function htmlFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return htmlFiles(path);
    return path.endsWith('.html') ? [path] : [];
  });
}

const decode = (text) =>
  text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

const anchors = new Map();
function anchorsOf(file) {
  let ids = anchors.get(file);
  if (ids === undefined) {
    const html = readFileSync(file, 'utf8');
    ids = new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decode(m[1])));
    anchors.set(file, ids);
  }
  return ids;
}

if (!existsSync(site)) {
  console.error(`No site at ${site}: build it first (pnpm docs:api).`);
  process.exit(1);
}

const broken = [];
const external = new Set();
const files = htmlFiles(site);
for (const file of files) {
  const html = readFileSync(file, 'utf8');
  for (const [, attribute] of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const link = decode(attribute);
    if (/^(https?:|mailto:)/.test(link)) {
      external.add(link);
      continue;
    }
    if (/^(data:|javascript:)/.test(link) || link === '') continue;
    const [path, anchor] = link.split('#');
    const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const where = `${relative(site, file)}: ${link}`;
    if (!existsSync(target)) broken.push(`${where} (no such file)`);
    else if (anchor && target.endsWith('.html') && !anchorsOf(target).has(anchor))
      broken.push(`${where} (no such anchor)`);
  }
}

for (const line of broken) console.error(line);
console.log(
  `${files.length} pages, ${broken.length} broken links, ${external.size} links off the site (not fetched)`,
);
if (broken.length > 0) process.exitCode = 1;
