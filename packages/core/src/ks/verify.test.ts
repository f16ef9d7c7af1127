import { createHash } from 'node:crypto';
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
import { PhpArrayKeyError } from './php.js';
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

/** The code and the reason of a refusal (the message says why, never what the KS or secret was). */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof KsError) return { code: error.code, message: error.message };
    return { code: 'not a KsError', message: String(error) };
  }
  return { code: 'no error', message: '' };
}

const v1Body = (info: string) => Buffer.from(info, 'latin1').toString('base64');

describe('verifyKs refuses, and says why', () => {
  it(`reads a KS of up to ${MAX_KS_LENGTH} characters and refuses a longer one unread`, () => {
    const atLimit = SPEC_V2.ks.padEnd(MAX_KS_LENGTH, ' ');
    expect(verifyKs(atLimit, opts).userId).toBe('alice');
    expect(refusal(() => verifyKs(`${atLimit} `, opts))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: `The KS is longer than ${MAX_KS_LENGTH} characters`,
    });
    expect(refusal(() => decodeKs(`${atLimit} `)).code).toBe('ERR_KS_MALFORMED');
  });

  it('a KS that is not a string', () => {
    for (const ks of [42, null, undefined, Buffer.from(SPEC_V2.ks)]) {
      expect(refusal(() => verifyKs(ks as never, opts))).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'A KS must be a string',
      });
    }
  });

  it('text that is not base64, or decodes to nothing', () => {
    for (const ks of ['', ' \n', 'not*a*ks', '====']) {
      expect(refusal(() => verifyKs(ks, opts))).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'The KS is not valid base64',
      });
    }
  });

  it('a v2 KS with no "|" after its partner id (nothing encrypted)', () => {
    // 16 bytes: were the whole string taken as the cipher text, it would be one AES block.
    const ks = Buffer.from('v2|1234567890123').toString('base64');
    for (const read of [() => decodeKs(ks), () => verifyKs(ks, opts)]) {
      expect(refusal(read)).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'The KS v2 has no encrypted part',
      });
    }
  });

  it('a v2 KS whose cipher text is empty or not whole AES blocks', () => {
    for (const tail of ['', 'x'.repeat(15), 'x'.repeat(17)]) {
      expect(refusal(() => decodeKs(Buffer.from(`v2|12345|${tail}`).toString('base64')))).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'The KS v2 encrypted part is not a whole number of AES blocks',
      });
    }
  });

  it('a v2 KS whose partner id is not an integer', () => {
    for (const partner of ['', '12x45', '1.5', '1234567890123456']) {
      const ks = Buffer.from(`v2|${partner}|${'x'.repeat(16)}`).toString('base64');
      expect(refusal(() => decodeKs(ks))).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'The KS partner id is not an integer',
      });
    }
    const negative = Buffer.from(`v2|-1|${'x'.repeat(16)}`).toString('base64');
    expect(decodeKs(negative)).toEqual({ version: 2, verified: false, partnerId: -1 });
  });

  it('a v1 KS with no "|" between signature and fields', () => {
    // Complete, well-formed fields: only the separator is missing.
    const ks = v1Body('12345;12345;2000000000;0;1;bob;;;');
    for (const read of [() => decodeKs(ks), () => verifyKs(ks, opts)]) {
      expect(refusal(read)).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: 'The KS has no signature separator',
      });
    }
  });

  it('a v1 KS with fewer than three fields', () => {
    expect(refusal(() => decodeKs(sealV1(SPEC_SECRET, '12345;12345')))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: 'The KS v1 has fewer than three fields',
    });
  });

  it.each([
    ['partner id', '12345x;12345;2000000000;0;1;u;;;'],
    ['expiry', '12345;12345;2000000000.5;0;1;u;;;'],
    ['type', '12345;12345;2000000000;admin;1;u;;;'],
    ['master partner id', '12345;12345;2000000000;0;1;u;;m;'],
  ])('a v1 KS whose %s is not an integer (verifyKs and decodeKs)', (field, info) => {
    const ks = sealV1(SPEC_SECRET, info);
    for (const read of [() => verifyKs(ks, opts), () => decodeKs(ks)]) {
      expect(refusal(read)).toEqual({
        code: 'ERR_KS_MALFORMED',
        message: `The KS ${field} is not an integer`,
      });
    }
  });

  it.each([
    ['expiry', '_t=0&_u=u'],
    ['expiry', '_e=soon&_u=u'],
    ['type', '_e=2000000000&_t=2.0'],
    ['master partner id', '_e=2000000000&_m=m'],
  ])('a v2 KS whose %s is missing or not an integer (%s)', (field, query) => {
    expect(refusal(() => verifyKs(sealV2(SPEC_SECRET, 12345, query), opts))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: `The KS ${field} is not an integer`,
    });
  });

  it('a v2 field with a key PHP would turn into an array', () => {
    let caught: unknown;
    try {
      verifyKs(sealV2(SPEC_SECRET, 12345, 'e[x]=1&_e=2000000000'), opts);
    } catch (error) {
      caught = error;
    }
    expect((caught as KsError).cause).toBeInstanceOf(PhpArrayKeyError);
    expect(
      refusal(() => verifyKs(sealV2(SPEC_SECRET, 12345, 'e[x]=1&_e=2000000000'), opts)),
    ).toEqual({ code: 'ERR_KS_MALFORMED', message: 'The KS v2 has a field Kaltura cannot read' });
  });
});

describe('verifyKs refuses bytes that are not UTF-8 (Kaltura would read them as other bytes)', () => {
  // A replacement character in place of the raw bytes would make another user id.
  it.each([
    ['the user id', '_e=2000000000&_u=al%FFice'],
    ['a privilege value', '_e=2000000000&_u=u&sview=%C3'],
    ['a privilege name', '_e=2000000000&_u=u&%ED%A0%80=1'],
    ['the additional data', '_e=2000000000&_u=u&_d=%80'],
  ])('in %s of a v2 KS', (_, query) => {
    expect(refusal(() => verifyKs(sealV2(SPEC_SECRET, 12345, query), opts))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: 'The KS field is not valid UTF-8',
    });
  });

  it('in the fields of a v1 KS', () => {
    const info = Buffer.concat([Buffer.from('12345;12345;2000000000;0;1;al'), Buffer.of(0xff)]);
    const signature = createHash('sha1')
      .update(Buffer.concat([Buffer.from(SPEC_SECRET), info]))
      .digest('hex');
    const ks = Buffer.concat([Buffer.from(`${signature}|`), info]).toString('base64');
    expect(refusal(() => verifyKs(ks, opts))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: 'The KS body is not valid UTF-8',
    });
  });

  it('keeps the decoding error as the cause', () => {
    let caught: unknown;
    try {
      verifyKs(sealV2(SPEC_SECRET, 12345, '_e=2000000000&_u=%FF'), opts);
    } catch (error) {
      caught = error;
    }
    expect((caught as KsError).cause).toBeInstanceOf(TypeError);
  });

  it('while well-formed multi-byte UTF-8 reads back as written', () => {
    const ks = sealV2(SPEC_SECRET, 12345, '_e=2000000000&_u=%C3%BC%E6%97%A5&%C3%A9=%F0%9F%98%80');
    expect(verifyKs(ks, opts)).toMatchObject({ userId: 'ü日', privileges: 'é:😀' });
  });
});

describe('verifyKs options and secrets', () => {
  it('refuses a list of secrets with any empty or non-string entry, before reading the KS', () => {
    for (const secrets of [[SPEC_SECRET, ''], ['', SPEC_SECRET], [SPEC_SECRET, 42], [null]]) {
      expect(refusal(() => verifyKs('not*a*ks', { ...opts, secrets: secrets as never }))).toEqual({
        code: 'ERR_KS_INVALID_OPTION',
        message: 'secrets must be a non-empty string or a list of them',
      });
    }
    for (const options of [undefined, null, 'secret']) {
      expect(refusal(() => verifyKs(SPEC_V2.ks, options as never))).toEqual({
        code: 'ERR_KS_INVALID_OPTION',
        message: 'verifyKs needs options with the partner secrets',
      });
    }
    expect(refusal(() => verifyKs(SPEC_V2.ks, { now: NOW } as never)).code).toBe(
      'ERR_KS_INVALID_OPTION',
    );
  });

  it('refuses what a secrets lookup returns when it is not a list of secrets', () => {
    const lookup = (found: unknown) => () => found as string[];
    expect(
      refusal(() => verifyKs(SPEC_V2.ks, { ...opts, secrets: lookup([SPEC_SECRET, '']) })),
    ).toEqual({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'secrets must be a non-empty string or a list of them',
    });
    expect(verifyKs(SPEC_V2.ks, { ...opts, secrets: lookup(SPEC_SECRET) }).userId).toBe('alice');
  });

  it('fails like Kaltura, as a bad signature, for a partner the lookup does not know', () => {
    for (const found of [undefined, []]) {
      const secrets = (partnerId: number) => (partnerId === 1 ? [SPEC_SECRET] : found);
      for (const ks of [SPEC_V1.ks, SPEC_V2.ks]) {
        expect(refusal(() => verifyKs(ks, { ...opts, secrets }))).toEqual({
          code: 'ERR_KS_SIGNATURE',
          message: `No secret is known for partner ${SPEC_PARTNER}`,
        });
      }
    }
  });

  it('names both partners when the KS belongs to another', () => {
    expect(refusal(() => verifyKs(SPEC_V2.ks, { ...opts, partnerId: 54321 }))).toEqual({
      code: 'ERR_KS_PARTNER_MISMATCH',
      message: `The KS belongs to partner ${SPEC_PARTNER}, not 54321`,
    });
  });

  it('says which check failed: the v1 signature or the v2 decryption', () => {
    expect(refusal(() => verifyKs(SPEC_V1.ks, { ...opts, secrets: 'another' }))).toEqual({
      code: 'ERR_KS_SIGNATURE',
      message: 'The KS signature does not match the partner secret',
    });
    expect(refusal(() => verifyKs(SPEC_V2.ks, { ...opts, secrets: 'another' }))).toEqual({
      code: 'ERR_KS_SIGNATURE',
      message: 'The KS does not decrypt with the partner secret',
    });
  });

  it('says when an expired KS expired', () => {
    const late = { ...opts, now: fixedClock(SPEC_VALID_UNTIL * 1000) };
    expect(refusal(() => verifyKs(SPEC_V2.ks, late))).toEqual({
      code: 'ERR_KS_EXPIRED',
      message: 'The KS expired at 2033-05-18T03:33:20.000Z',
    });
    // An expiry no date can hold is still reported, in unix seconds.
    const ancient = sealV1(SPEC_SECRET, '12345;12345;-999999999999999;0;1;u;;;');
    expect(refusal(() => verifyKs(ancient, opts))).toEqual({
      code: 'ERR_KS_EXPIRED',
      message: 'The KS expired at unix time -999999999999999',
    });
  });

  it('reads the clock in whole seconds: valid until the last millisecond before validUntil', () => {
    const at = (ms: number) => ({ ...opts, now: fixedClock(ms) });
    expect(verifyKs(SPEC_V1.ks, at(SPEC_VALID_UNTIL * 1000 - 1)).userId).toBe('alice');
    expect(refusal(() => verifyKs(SPEC_V1.ks, at(SPEC_VALID_UNTIL * 1000))).code).toBe(
      'ERR_KS_EXPIRED',
    );
  });
});

describe('verifyKs, v2 decryption', () => {
  it('strips every trailing zero byte of the padding, as Kaltura does (rtrim "\\0")', () => {
    // 20 + 16 + 12 = 48: a query that fills the blocks exactly, then one that needs 15 zeros.
    for (const user of ['u', 'abcdefghijklmnop']) {
      const ks = sealV2(SPEC_SECRET, 12345, `_e=2000000000&_u=${user}`);
      expect(verifyKs(ks, opts).userId).toBe(user);
    }
  });

  it('a KS that decrypts and hashes right but carries nothing is malformed, not a wrong secret', () => {
    // The body is empty: the plaintext is SHA1("") and zero padding.
    const ks = sealV2(SPEC_SECRET, 12345, '', Buffer.alloc(0));
    expect(refusal(() => verifyKs(ks, opts))).toEqual({
      code: 'ERR_KS_MALFORMED',
      message: 'The KS expiry is not an integer',
    });
  });

  it('skips a secret the KS does not decrypt with and uses the one it does, in order', () => {
    const ks = sealV2(SPEC_SECRET, 12345, '_e=2000000000&_u=second');
    const other = sealV2('first', 12345, '_e=2000000000&_u=first');
    expect(verifyKs(ks, { ...opts, secrets: ['first', SPEC_SECRET] }).userId).toBe('second');
    expect(verifyKs(other, { ...opts, secrets: ['first', SPEC_SECRET] }).userId).toBe('first');
  });

  it('reports _m and _d only when present; an empty _m is no master partner, an empty _d is kept', () => {
    const fields = (query: string) => verifyKs(sealV2(SPEC_SECRET, 12345, query), opts);
    expect(fields('_e=2000000000&_m=&_d=')).toEqual(
      expect.objectContaining({ additionalData: '' }),
    );
    expect(fields('_e=2000000000&_m=&_d=')).not.toHaveProperty('masterPartnerId');
    expect(fields('_e=2000000000')).not.toHaveProperty('additionalData');
    expect(Object.keys(fields('_e=2000000000'))).not.toContain('additionalData');
    expect(fields('_e=2000000000&_m=-7&_d=x')).toMatchObject({
      masterPartnerId: -7,
      additionalData: 'x',
    });
  });

  it('reports a privilege without a value by its bare name', () => {
    const ks = sealV2(SPEC_SECRET, 12345, 'disableentitlement=&list&sview=0_a&_e=2000000000');
    expect(verifyKs(ks, opts).privileges).toBe('disableentitlement,list,sview:0_a');
  });

  it('returns exactly the fields and the revocation hash, nothing more', () => {
    const ks = sealV2(SPEC_SECRET, 12345, '_e=2000000000&_t=2&_u=u&_m=5&_d=d');
    const body = Buffer.concat([
      Buffer.alloc(16),
      Buffer.from('_e=2000000000&_t=2&_u=u&_m=5&_d=d'),
    ]);
    expect(verifyKs(ks, opts)).toStrictEqual({
      version: 2,
      partnerId: 12345,
      userId: 'u',
      type: 2,
      validUntil: 2_000_000_000,
      privileges: '',
      masterPartnerId: 5,
      additionalData: 'd',
      hash: createHash('sha1').update(body).digest('hex'),
    });
  });
});

describe('verifyKs and decodeKs, v1 fields', () => {
  it('reports empty master partner and additional data as absent', () => {
    const ks = sealV1(SPEC_SECRET, '12345;12345;2000000000;0;1;u;;;');
    expect(verifyKs(ks, opts)).toStrictEqual({
      version: 1,
      partnerId: 12345,
      userId: 'u',
      type: 0,
      validUntil: 2_000_000_000,
      privileges: '',
      hash: createHash('sha1')
        .update(`${SPEC_SECRET}12345;12345;2000000000;0;1;u;;;`)
        .digest('hex'),
    });
  });

  it('reports master partner and additional data when set, and the rand field to decodeKs only', () => {
    const ks = sealV1(SPEC_SECRET, '12345;12345;2000000000;2;r4nd;u;list;99;extra');
    expect(verifyKs(ks, opts)).toMatchObject({ masterPartnerId: 99, additionalData: 'extra' });
    expect(verifyKs(ks, opts)).not.toHaveProperty('rand');
    expect(decodeKs(ks)).toMatchObject({
      rand: 'r4nd',
      masterPartnerId: 99,
      additionalData: 'extra',
      type: 2,
    });
    expect(decodeKs(sealV1(SPEC_SECRET, '12345;12345;2000000000'))).toStrictEqual({
      version: 1,
      verified: false,
      partnerId: 12345,
      userId: '',
      type: 0,
      validUntil: 2_000_000_000,
      privileges: '',
      rand: '',
    });
  });

  it('reads a v1 KS with an empty signature (decodeKs), and refuses it as unsigned (verifyKs)', () => {
    const ks = v1Body('|12345;12345;2000000000;0;1;bob;;;');
    expect(decodeKs(ks)).toMatchObject({ version: 1, userId: 'bob' });
    expect(refusal(() => verifyKs(ks, opts)).code).toBe('ERR_KS_SIGNATURE');
  });

  it('finds the separator after the signature: a "|" in the fields is part of them', () => {
    const ks = sealV1(SPEC_SECRET, '12345;12345;2000000000;0;1;a|b;;;');
    expect(verifyKs(ks, opts).userId).toBe('a|b');
  });
});

describe('a KS reads the same however its base64 is spelled (whitespace PHP skips, either alphabet)', () => {
  /** The same bytes as Kaltura would accept them: plain, url-safe, and with whitespace around. */
  const spellings = (bytes: Buffer): string[] => {
    const plain = bytes.toString('base64');
    return [plain, bytes.toString('base64url'), `\n${plain}`, `${plain} `, `\t${plain}\r\n`];
  };
  const signed = (info: Buffer) =>
    Buffer.concat([
      Buffer.from(
        `${createHash('sha1')
          .update(Buffer.concat([Buffer.from(SPEC_SECRET), info]))
          .digest('hex')}|`,
      ),
      info,
    ]);
  const ascii = '12345;12345;2000000000;0;1;bob;;;';
  const nonAscii = '12345;12345;2000000000;0;1;b\u00fcb;;;';

  it.each([
    ['ASCII fields', ascii, 'bob'],
    ['fields past ASCII (UTF-8)', nonAscii, 'b\u00fcb'],
  ])('a signed v1 KS with %s verifies', (_, info, userId) => {
    for (const ks of spellings(signed(Buffer.from(info)))) {
      expect(verifyKs(ks, opts)).toMatchObject({ version: 1, partnerId: 12345, userId });
    }
  });

  it.each([
    ['ASCII fields', ascii],
    ['fields past ASCII', nonAscii],
  ])('a v1 KS with %s and no "|" after its signature is refused', (_, info) => {
    for (const ks of spellings(Buffer.from(`${'0'.repeat(40)}${info}`))) {
      for (const read of [() => decodeKs(ks), () => verifyKs(ks, opts)]) {
        expect(refusal(read)).toEqual({
          code: 'ERR_KS_MALFORMED',
          message: 'The KS has no signature separator',
        });
      }
    }
  });

  it.each([
    ['ASCII fields', ascii, 'bob'],
    ['fields past ASCII', nonAscii, 'b\u00fcb'],
  ])(
    'a v1 KS with %s and an empty signature is read, and refused as unsigned',
    (_, info, userId) => {
      for (const ks of spellings(Buffer.from(`|${info}`))) {
        expect(decodeKs(ks)).toMatchObject({ version: 1, userId });
        expect(refusal(() => verifyKs(ks, opts)).code).toBe('ERR_KS_SIGNATURE');
      }
    },
  );

  it.each(['a2', 'vx', 'v2x'])(
    'a v1 KS whose signature is %j is v1, though it starts like "v2|"',
    (signature) => {
      for (const ks of spellings(Buffer.from(`${signature}|${ascii}`))) {
        expect(decodeKs(ks)).toMatchObject({ version: 1, userId: 'bob' });
      }
    },
  );
});
