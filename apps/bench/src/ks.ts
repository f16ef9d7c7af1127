import { createKs, verifyKs } from '@kaltura-ks/core';
import { comparePair, ratio, type SuiteResult } from './harness.js';
import { referenceCreateV1, referenceCreateV2, referenceVerifyV2 } from './reference.js';

/** 1. KS creation and verification against a plain reference implementation. */
export function runKsSuite(): SuiteResult {
  const secret = '0123456789abcdef0123456789abcdef';
  const partnerId = 12345;
  const userId = 'alice@example.com';
  const privileges = 'sview:*,appid:app-example.com';

  const ksV2 = createKs({ secret, partnerId, userId, privileges });
  // The reference must read what the library makes (and vice versa), or the comparison is moot.
  if (referenceVerifyV2(ksV2, secret).userId !== userId)
    throw new Error('reference cannot read our KS');
  verifyKs(referenceCreateV2(secret, partnerId, userId, privileges, 3600), {
    secrets: secret,
    partnerId,
  });

  const pairs = [
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
  const v2 = pairs[0]!;
  return {
    suite: 'ks',
    title:
      'KS create and verify (one core), against a plain reference (new cipher and hash per call)',
    rows: pairs.map((p) => ({
      case: p.name,
      'ops/s': p.opsPerSecond,
      'reference ops/s': p.baselineOpsPerSecond,
      ratio: ratio(p.ratio),
    })),
    targets: [
      {
        target: 'createKs v2 >= 100,000 ops/s',
        met: v2.opsPerSecond >= 100_000,
        detail: v2.opsPerSecond.toLocaleString('en-US'),
      },
      {
        target: 'createKs v2 >= 1.5x the reference',
        met: v2.ratio >= 1.5,
        detail: ratio(v2.ratio),
      },
    ],
  };
}
