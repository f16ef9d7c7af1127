/**
 * The `ks` suite's measurements, in their own process (pinned to one core by the
 * parent when `taskset` is there, run with `--expose-gc`): `@kaltura-ks/core`'s
 * createKs/verifyKs against the frozen copy of the pre-issue-17 code
 * (`../baseline`), and createKs v2 against the plain reference of issue 7. Prints
 * one JSON line: the pairs, compared by CPU time per call in alternating rounds.
 */
import { deepStrictEqual, strictEqual } from 'node:assert';
import { createKs, KsType, verifyKs } from '@kaltura-ks/core';
import { createKs as baselineCreateKs } from '../baseline/ks/create.js';
import { verifyKs as baselineVerifyKs } from '../baseline/ks/verify.js';
import { compareCpu } from '../harness.js';
import { referenceCreateV2, referenceVerifyV2 } from '../reference.js';

const secret = '0123456789abcdef0123456789abcdef';
const partnerId = 12345;
const userId = 'alice@example.com';
const privileges = 'sview:*,appid:app-example.com';
const expiresInSeconds = 3600;

// Both sides must make the same bytes and read each other's KSs, or the comparison is moot.
const fixedNow = () => 1_800_000_000_000;
const cases = [
  { userId, privileges },
  { userId: '', privileges: '' },
  { userId: 'Zoë O’Brien 日本 +~*', privileges: 'edit:0_a/0_b,sview:*,*,list:a:b' },
  { userId: 'x'.repeat(100), privileges: 'downloadasset:0_x,urirestrict:/p/*' },
  { userId: 'bob', privileges: { sview: '*', actionslimit: 10, disableentitlement: true } },
] as const;
for (const version of [1, 2] as const) {
  for (const [i, c] of cases.entries()) {
    const options = {
      secret,
      partnerId,
      ...c,
      type: i % 2 === 0 ? KsType.USER : KsType.ADMIN,
      version,
      now: fixedNow,
      randomBytes: (size: number) =>
        Uint8Array.from({ length: size }, (_, j) => (j * 37 + i) & 255),
      ...(i === 4 ? { masterPartnerId: 99, additionalData: 'extra data' } : {}),
    };
    const ours = createKs(options);
    strictEqual(ours, baselineCreateKs(options), `v${version} case ${i}: same bytes`);
    const verifyOptions = { secrets: secret, partnerId, now: fixedNow };
    deepStrictEqual(verifyKs(ours, verifyOptions), baselineVerifyKs(ours, verifyOptions));
  }
}
const ksV2 = createKs({ secret, partnerId, userId, privileges, expiresInSeconds });
const ksV1 = createKs({ secret, partnerId, userId, privileges, expiresInSeconds, version: 1 });
for (const ks of [ksV1, ksV2]) {
  deepStrictEqual(
    verifyKs(ks, { secrets: secret, partnerId }),
    baselineVerifyKs(ks, { secrets: secret, partnerId }),
  );
}
if (referenceVerifyV2(ksV2, secret).userId !== userId)
  throw new Error('reference cannot read our KS');
verifyKs(referenceCreateV2(secret, partnerId, userId, privileges, expiresInSeconds), {
  secrets: secret,
  partnerId,
});

const v2 = { secret, partnerId, userId, privileges, expiresInSeconds };
const v1 = { ...v2, version: 1 as const };
const verifyOptions = { secrets: secret, partnerId };
const pairs = [
  compareCpu(
    'createKs v2',
    () => createKs(v2),
    () => baselineCreateKs(v2),
  ),
  compareCpu(
    'createKs v1',
    () => createKs(v1),
    () => baselineCreateKs(v1),
  ),
  compareCpu(
    'verifyKs v2',
    () => verifyKs(ksV2, verifyOptions),
    () => baselineVerifyKs(ksV2, verifyOptions),
  ),
  compareCpu(
    'verifyKs v1',
    () => verifyKs(ksV1, verifyOptions),
    () => baselineVerifyKs(ksV1, verifyOptions),
  ),
  // An unchanged control: the baseline against itself shows what the method's noise is.
  compareCpu(
    'control: baseline createKs v2 against itself',
    () => baselineCreateKs(v2),
    () => baselineCreateKs(v2),
  ),
  compareCpu(
    'createKs v2 against the plain reference',
    () => createKs(v2),
    () => referenceCreateV2(secret, partnerId, userId, privileges, expiresInSeconds),
  ),
];
process.stdout.write(`${JSON.stringify(pairs)}\n`);
