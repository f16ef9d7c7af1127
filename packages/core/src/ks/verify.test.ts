import { describe, expect, it } from 'vitest';
import { KsError, type KsErrorCode } from '../errors.js';
import { sealV1, sealV2 } from '../test-utils/seal.js';
import {
  fixedClock,
  SPEC_PARTNER,
  SPEC_SECRET,
  SPEC_V1,
  SPEC_V2,
  SPEC_VALID_UNTIL,
  SPEC_WIDGET_KS,
} from '../test-utils/vectors.js';
import { createKs } from './create.js';
import { decodeKs, MAX_KS_LENGTH, verifyKs } from './verify.js';

const NOW = fixedClock(1_700_000_000_000);
const opts = { secrets: SPEC_SECRET, now: NOW };

function codeOf(fn: () => unknown): KsErrorCode | 'no error' | 'not a KsError' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof KsError ? error.code : 'not a KsError';
  }
}

describe('verifyKs reads the spec vectors', () => {
  it('v2 (§3.4)', () => {
    expect(verifyKs(SPEC_V2.ks, opts)).toEqual({
      version: 2,
      partnerId: SPEC_PARTNER,
      userId: 'alice',
      type: 2,
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'edit:*,sview:0_abc/0_def',
      hash: SPEC_V2.hash,
    });
  });

  it('v1 (§2)', () => {
    expect(verifyKs(SPEC_V1.ks, opts)).toEqual({
      version: 1,
      partnerId: SPEC_PARTNER,
      userId: 'alice',
      type: 2,
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'edit:*,sview:0_abc/0_def',
      hash: SPEC_V1.signature,
    });
  });

  it('the widget KS (§3.4)', () => {
    expect(verifyKs(SPEC_WIDGET_KS, opts)).toMatchObject({
      userId: '0',
      type: 0,
      privileges: 'view:*,widget:1',
    });
  });
});

describe('verifyKs accepts what Kaltura parser accepts (§4.1)', () => {
  const standard = SPEC_V2.ks.replace(/-/g, '+').replace(/_/g, '/');
  it.each([
    ['the standard alphabet for a v2 KS', standard],
    ['the url-safe alphabet for a v1 KS', SPEC_V1.ks.replace(/\+/g, '-').replace(/\//g, '_')],
    ['no padding', SPEC_V1.ks.replace(/=+$/, '')],
    ['line breaks every 20 characters', SPEC_V2.ks.replace(/(.{20})/g, '$1\r\n')],
    ['leading and trailing spaces and tabs', ` \t${SPEC_V2.ks}\t `],
    ['whitespace after the padding', `${SPEC_V1.ks} \n`],
  ])('%s', (_, ks) => {
    expect(codeOf(() => verifyKs(ks, opts))).toBe('no error');
  });

  it('tries each secret in turn, as for a partner with several admin secrets', () => {
    expect(
      verifyKs(SPEC_V2.ks, { ...opts, secrets: ['wrong-1', 'wrong-2', SPEC_SECRET] }).userId,
    ).toBe('alice');
    expect(verifyKs(SPEC_V1.ks, { ...opts, secrets: ['wrong-1', SPEC_SECRET] }).userId).toBe(
      'alice',
    );
  });

  it('looks the secrets up by partner when given a function', () => {
    const lookup = (partnerId: number) =>
      partnerId === SPEC_PARTNER ? ['old', SPEC_SECRET] : undefined;
    expect(verifyKs(SPEC_V2.ks, { secrets: lookup, now: NOW }).userId).toBe('alice');
    const other = createKs({ secret: SPEC_SECRET, partnerId: 777 });
    expect(codeOf(() => verifyKs(other, { secrets: lookup, now: NOW }))).toBe('ERR_KS_SIGNATURE');
  });

  it('reports a v2 "*" as "*" only when it is the only privilege', () => {
    expect(
      verifyKs(createKs({ secret: SPEC_SECRET, partnerId: 1, privileges: '*' }), opts).privileges,
    ).toBe('*');
    expect(
      verifyKs(createKs({ secret: SPEC_SECRET, partnerId: 1, privileges: '*,list' }), opts)
        .privileges,
    ).toBe('all:*,list');
  });

  it('reads the v1 fields that clients omit (seven-field KSs from the PHP and Python clients)', () => {
    const ks = sealV1(SPEC_SECRET, '12345;12345;2000000000;0;123;bob;sview:*');
    expect(verifyKs(ks, opts)).toMatchObject({ userId: 'bob', privileges: 'sview:*', type: 0 });
    expect(verifyKs(ks, opts)).not.toHaveProperty('masterPartnerId');
    const three = sealV1(SPEC_SECRET, '12345;12345;2000000000');
    expect(verifyKs(three, opts)).toMatchObject({ userId: '', privileges: '', type: 0 });
  });

  it('ignores v1 fields beyond the ninth', () => {
    const ks = sealV1(SPEC_SECRET, '12345;12345;2000000000;0;1;bob;;;;extra;more');
    expect(verifyKs(ks, opts)).toMatchObject({ userId: 'bob' });
  });

  it('normalises v2 keys as PHP parse_str does (§6)', () => {
    const ks = sealV2(SPEC_SECRET, 12345, '  a.b=1&c+d=2&f[=3&g[h=4&_e=2000000000&_t=0&_u=u');
    expect(verifyKs(ks, opts).privileges).toBe('a_b:1,c_d:2,f_:3,g_h:4');
  });

  it('keeps the first position of a repeated v2 key and the last value', () => {
    const ks = sealV2(SPEC_SECRET, 12345, 'edit=a&list=&edit=b&_e=2000000000&_u=u&_u=v');
    expect(verifyKs(ks, opts)).toMatchObject({ privileges: 'edit:b,list', userId: 'v' });
  });

  it('reports a missing _u as the empty user and a missing _t as USER', () => {
    const ks = sealV2(SPEC_SECRET, 12345, '_e=2000000000');
    expect(verifyKs(ks, opts)).toMatchObject({ userId: '', type: 0, privileges: '' });
  });
});

describe('verifyKs rejects what Kaltura rejects, with a typed error', () => {
  it.each<[string, string, KsErrorCode]>([
    ['an empty string', '', 'ERR_KS_MALFORMED'],
    [
      'a character outside base64',
      `${SPEC_V2.ks.slice(0, 10)}!${SPEC_V2.ks.slice(11)}`,
      'ERR_KS_MALFORMED',
    ],
    ['data after padding', `${SPEC_V1.ks}QQ`, 'ERR_KS_MALFORMED'],
    ['three padding characters', `${SPEC_V1.ks.replace(/=+$/, '')}===`, 'ERR_KS_MALFORMED'],
    ['a lone final base64 character', `${SPEC_V2.ks.slice(0, 8)}Q`, 'ERR_KS_MALFORMED'],
    ['a v1 KS with no "|"', Buffer.from('abc;def;ghi').toString('base64'), 'ERR_KS_MALFORMED'],
    ['a v1 KS with two fields', sealV1(SPEC_SECRET, '12345;12345'), 'ERR_KS_MALFORMED'],
    [
      'a v1 KS with a non-numeric partner',
      sealV1(SPEC_SECRET, 'abc;abc;2000000000;0;1;u;;;'),
      'ERR_KS_MALFORMED',
    ],
    [
      'a v1 KS with a non-numeric expiry',
      sealV1(SPEC_SECRET, '12345;12345;soon;0;1;u;;;'),
      'ERR_KS_MALFORMED',
    ],
    [
      'a v2 KS with no cipher text',
      Buffer.from('v2|12345|').toString('base64'),
      'ERR_KS_MALFORMED',
    ],
    [
      'a v2 KS whose cipher text is not whole blocks',
      Buffer.from(`v2|12345|${'x'.repeat(17)}`).toString('base64'),
      'ERR_KS_MALFORMED',
    ],
    [
      'a v2 KS with a non-numeric partner',
      Buffer.from(`v2|12x45|${'x'.repeat(32)}`).toString('base64'),
      'ERR_KS_MALFORMED',
    ],
    [
      'a v2 KS with an array key (PHP 8 throws)',
      sealV2(SPEC_SECRET, 12345, 'e[x]=1&_e=2000000000'),
      'ERR_KS_MALFORMED',
    ],
    ['a v2 KS with no expiry', sealV2(SPEC_SECRET, 12345, '_u=u'), 'ERR_KS_MALFORMED'],
    [
      'a v2 KS with a non-numeric type',
      sealV2(SPEC_SECRET, 12345, '_e=2000000000&_t=x'),
      'ERR_KS_MALFORMED',
    ],
    ['a v1 KS signed with another secret', sealV1('another', SPEC_V1.info), 'ERR_KS_SIGNATURE'],
    [
      'a v1 KS with an upper-case signature',
      sealV1(SPEC_SECRET, SPEC_V1.info, SPEC_V1.signature.toUpperCase()),
      'ERR_KS_SIGNATURE',
    ],
    [
      'a v2 KS encrypted with another secret',
      sealV2('another', 12345, '_e=2000000000'),
      'ERR_KS_SIGNATURE',
    ],
    ['a string longer than the limit', 'A'.repeat(MAX_KS_LENGTH + 4), 'ERR_KS_MALFORMED'],
  ])('%s', (_, ks, code) => {
    expect(codeOf(() => verifyKs(ks, opts))).toBe(code);
  });

  it('a v1 KS whose body was changed after signing', () => {
    const forged = sealV1(SPEC_SECRET, SPEC_V1.info.replace(';2;', ';0;'), SPEC_V1.signature);
    expect(codeOf(() => verifyKs(forged, opts))).toBe('ERR_KS_SIGNATURE');
  });

  it('every single flipped byte of a v2 KS', () => {
    const decoded = Buffer.from(SPEC_V2.ks.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const start = 'v2|12345|'.length;
    for (let i = start; i < decoded.length; i++) {
      const copy = Buffer.from(decoded);
      copy[i]! ^= 0x01;
      const ks = copy.toString('base64url');
      expect(
        codeOf(() => verifyKs(ks, opts)),
        `byte ${i}`,
      ).toBe('ERR_KS_SIGNATURE');
    }
  });

  it('a truncated KS, at every length', () => {
    for (const ks of [SPEC_V1.ks, SPEC_V2.ks]) {
      for (let length = 0; length < ks.length - 2; length++) {
        const code = codeOf(() => verifyKs(ks.slice(0, length), opts));
        expect(['ERR_KS_MALFORMED', 'ERR_KS_SIGNATURE'], `${length}`).toContain(code);
      }
    }
  });

  it('expired by one second, and valid one second before (no grace)', () => {
    const at = (seconds: number) => ({ ...opts, now: fixedClock(seconds * 1000) });
    expect(codeOf(() => verifyKs(SPEC_V2.ks, at(SPEC_VALID_UNTIL)))).toBe('ERR_KS_EXPIRED');
    expect(codeOf(() => verifyKs(SPEC_V2.ks, at(SPEC_VALID_UNTIL + 1)))).toBe('ERR_KS_EXPIRED');
    expect(codeOf(() => verifyKs(SPEC_V2.ks, at(SPEC_VALID_UNTIL - 1)))).toBe('no error');
    // Sub-second precision does not extend the life of a KS.
    const late = { ...opts, now: fixedClock(SPEC_VALID_UNTIL * 1000 + 999) };
    expect(codeOf(() => verifyKs(SPEC_V1.ks, late))).toBe('ERR_KS_EXPIRED');
  });

  it('a KS of another partner', () => {
    expect(codeOf(() => verifyKs(SPEC_V2.ks, { ...opts, partnerId: 54321 }))).toBe(
      'ERR_KS_PARTNER_MISMATCH',
    );
    expect(codeOf(() => verifyKs(SPEC_V1.ks, { ...opts, partnerId: 54321 }))).toBe(
      'ERR_KS_PARTNER_MISMATCH',
    );
    expect(codeOf(() => verifyKs(SPEC_V1.ks, { ...opts, partnerId: SPEC_PARTNER }))).toBe(
      'no error',
    );
  });

  it('bad options', () => {
    expect(codeOf(() => verifyKs(SPEC_V2.ks, { secrets: [] }))).toBe('ERR_KS_INVALID_OPTION');
    expect(codeOf(() => verifyKs(SPEC_V2.ks, { secrets: '' }))).toBe('ERR_KS_INVALID_OPTION');
    expect(codeOf(() => verifyKs(SPEC_V2.ks, undefined as never))).toBe('ERR_KS_INVALID_OPTION');
    expect(codeOf(() => verifyKs(42 as never, opts))).toBe('ERR_KS_MALFORMED');
  });

  it('never puts the KS or a secret in the error message', () => {
    const secret = 'recognizable-admin-secret-000';
    for (const ks of [SPEC_V2.ks, SPEC_V1.ks, sealV1(secret, SPEC_V1.info), `${SPEC_V1.ks}QQ`]) {
      try {
        verifyKs(ks, {
          secrets: secret,
          partnerId: SPEC_PARTNER,
          now: fixedClock(SPEC_VALID_UNTIL * 2000),
        });
      } catch (error) {
        const text = `${(error as Error).message} ${JSON.stringify(error)}`;
        expect(text).not.toContain(secret);
        expect(text).not.toContain(ks.slice(0, 24));
      }
    }
  });
});

describe('decodeKs', () => {
  it('shows every v1 field, marked unverified', () => {
    expect(decodeKs(SPEC_V1.ks)).toEqual({
      version: 1,
      verified: false,
      partnerId: SPEC_PARTNER,
      userId: 'alice',
      type: 2,
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'edit:*,sview:0_abc/0_def',
      rand: '4242',
    });
  });

  it('shows only version and partner for v2', () => {
    expect(decodeKs(SPEC_V2.ks)).toEqual({ version: 2, verified: false, partnerId: SPEC_PARTNER });
  });

  it('rejects what cannot be parsed', () => {
    expect(codeOf(() => decodeKs('not a ks'))).toBe('ERR_KS_MALFORMED');
    expect(codeOf(() => decodeKs(Buffer.from('sig|1;2').toString('base64')))).toBe(
      'ERR_KS_MALFORMED',
    );
  });
});
