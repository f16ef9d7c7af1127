import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createKs, verifyKs } from '../src/index.js';
import { comparePair, type PairResult, printTable } from './harness.js';
import { referenceCreateV1, referenceCreateV2, referenceVerifyV2 } from './reference.js';

const secret = '0123456789abcdef0123456789abcdef';
const partnerId = 12345;
const userId = 'alice@example.com';
const privileges = 'sview:*,appid:app-example.com';

const ksV2 = createKs({ secret, partnerId, userId, privileges });
// The reference must accept what the library makes, or the comparison is moot.
if (referenceVerifyV2(ksV2, secret).userId !== userId)
  throw new Error('reference cannot read our KS');
verifyKs(referenceCreateV2(secret, partnerId, userId, privileges, 3600), {
  secrets: secret,
  partnerId,
});

const results: PairResult[] = [
  comparePair(
    'createKs v2',
    () => createKs({ secret, partnerId, userId, privileges, expiresInSeconds: 3600 }),
    () => referenceCreateV2(secret, partnerId, userId, privileges, 3600),
  ),
  comparePair(
    'createKs v1',
    () => createKs({ secret, partnerId, userId, privileges, expiresInSeconds: 3600, version: 1 }),
    () => referenceCreateV1(secret, partnerId, userId, privileges, 3600),
  ),
  comparePair(
    'verifyKs v2',
    () => verifyKs(ksV2, { secrets: secret, partnerId }),
    () => referenceVerifyV2(ksV2, secret),
  ),
];

console.log(
  `KS create/verify, one core, Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}\n`,
);
printTable(results);
const v2 = results[0]!;
const targets = [
  { target: 'createKs v2 >= 100,000 ops/s', met: v2.opsPerSecond >= 100_000 },
  { target: 'createKs v2 >= 1.5x the reference', met: v2.ratio >= 1.5 },
];
console.log('');
for (const t of targets) console.log(`${t.met ? 'met ' : 'MISS'}  ${t.target}`);
mkdirSync(new URL('../../../bench-results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../../../bench-results/ks.json', import.meta.url),
  `${JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, results, targets }, null, 2)}\n`,
);
