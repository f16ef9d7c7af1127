import { createDecipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import {
  countingBytes,
  fixedClock,
  SPEC_PARTNER,
  SPEC_SECRET,
  SPEC_V1,
  SPEC_V2,
  SPEC_VALID_UNTIL,
  SPEC_WIDGET_KS,
} from '../test-utils/vectors.js';
import { createKs } from './create.js';
import { KsType } from './types.js';
import { decodeKs, verifyKs } from './verify.js';

const base = { secret: SPEC_SECRET, partnerId: SPEC_PARTNER };

function expectInvalidField(fn: () => unknown): void {
  expect(fn).toThrow(KsError);
  try {
    fn();
  } catch (error) {
    expect((error as KsError).code).toBe('ERR_KS_INVALID_FIELD');
  }
}

describe('createKs reproduces the spec vectors byte for byte', () => {
  it('v2 (§3.4)', () => {
    const ks = createKs({
      ...base,
      userId: 'alice',
      type: KsType.ADMIN,
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'edit:*,sview:0_abc/0_def',
      randomBytes: countingBytes,
    });
    expect(ks).toBe(SPEC_V2.ks);
  });

  it('the widget-style v2 KS (§3.4)', () => {
    const ks = createKs({
      ...base,
      userId: '0',
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'view:*,widget:1',
      randomBytes: countingBytes,
    });
    expect(ks).toBe(SPEC_WIDGET_KS);
  });

  it('v1 (§2), with rand 4242 from the injected bytes', () => {
    const ks = createKs({
      ...base,
      version: 1,
      userId: 'alice',
      type: KsType.ADMIN,
      validUntil: SPEC_VALID_UNTIL,
      privileges: 'edit:*,sview:0_abc/0_def',
      randomBytes: () => Uint8Array.of(0, 0, 0x10, 0x92),
    });
    expect(ks).toBe(SPEC_V1.ks);
    expect(Buffer.from(ks, 'base64').toString()).toBe(`${SPEC_V1.signature}|${SPEC_V1.info}`);
  });

  it('the same privileges as a structured object', () => {
    const ks = createKs({
      ...base,
      userId: 'alice',
      type: KsType.ADMIN,
      validUntil: SPEC_VALID_UNTIL,
      privileges: { edit: '*', sview: ['0_abc', '0_def'] },
      randomBytes: countingBytes,
    });
    expect(ks).toBe(SPEC_V2.ks);
  });
});

describe('createKs defaults', () => {
  const now = 1_700_000_000_000;

  it('makes a USER v2 KS for the anonymous user, valid for 86400 s', () => {
    const ks = createKs({ ...base, now: fixedClock(now) });
    const fields = verifyKs(ks, { secrets: SPEC_SECRET, now: fixedClock(now) });
    expect(fields).toMatchObject({
      version: 2,
      partnerId: SPEC_PARTNER,
      userId: '',
      type: KsType.USER,
      validUntil: now / 1000 + 86_400,
      privileges: '',
    });
  });

  it('expiresInSeconds counts from the injected clock; validUntil wins over it', () => {
    const a = verifyKs(createKs({ ...base, expiresInSeconds: 60, now: fixedClock(now) }), {
      secrets: SPEC_SECRET,
      now: fixedClock(now),
    });
    expect(a.validUntil).toBe(now / 1000 + 60);
    const b = verifyKs(
      createKs({
        ...base,
        expiresInSeconds: 60,
        validUntil: SPEC_VALID_UNTIL,
        now: fixedClock(now),
      }),
      { secrets: SPEC_SECRET, now: fixedClock(now) },
    );
    expect(b.validUntil).toBe(SPEC_VALID_UNTIL);
  });

  it('uses fresh random bytes: two KSs with the same fields differ', () => {
    const a = createKs({ ...base, userId: 'u', validUntil: SPEC_VALID_UNTIL });
    const b = createKs({ ...base, userId: 'u', validUntil: SPEC_VALID_UNTIL });
    expect(a).not.toBe(b);
    const c = createKs({ ...base, userId: 'u', validUntil: SPEC_VALID_UNTIL, version: 1 });
    const d = createKs({ ...base, userId: 'u', validUntil: SPEC_VALID_UNTIL, version: 1 });
    expect(c).not.toBe(d);
  });

  it('writes all nine v1 fields as the server does, with master partner and additional data', () => {
    const ks = createKs({
      ...base,
      version: 1,
      userId: 'bob',
      validUntil: SPEC_VALID_UNTIL,
      masterPartnerId: 99,
      additionalData: 'extra',
      randomBytes: () => Uint8Array.of(0, 0, 0, 7),
    });
    const info = Buffer.from(ks, 'base64').toString().split('|')[1];
    expect(info).toBe('12345;12345;2000000000;0;7;bob;;99;extra');
  });

  it('adds _m and _d to a v2 KS only when given', () => {
    const ks = createKs({ ...base, userId: 'bob', masterPartnerId: 99, additionalData: 'a b&c' });
    expect(verifyKs(ks, { secrets: SPEC_SECRET })).toMatchObject({
      masterPartnerId: 99,
      additionalData: 'a b&c',
    });
    expect(verifyKs(createKs(base), { secrets: SPEC_SECRET })).not.toHaveProperty(
      'masterPartnerId',
    );
  });
});

describe('v2 encoding follows the server (§3.1–§3.3)', () => {
  function query(ks: string, secret = SPEC_SECRET): string {
    const decoded = Buffer.from(ks.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const cipher = decoded.subarray(decoded.indexOf('|', 3) + 1);
    const key = createHash('sha1').update(secret).digest().subarray(0, 16);
    // A fresh zero-IV CBC context, independent of the library's cipher.
    const blocks = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16))
      .setAutoPadding(false)
      .update(cipher);
    return blocks.subarray(36).toString('latin1').replace(/\0+$/, '');
  }

  it('trims items, drops empty ones and "0", turns * into all:*, keeps the first position of a repeated name', () => {
    const ks = createKs({
      ...base,
      userId: 'u',
      validUntil: 5,
      privileges: ' edit:a ,,0,*,edit:b/c,list',
    });
    expect(query(ks)).toBe('edit=b%2Fc&all=%2A&list=&_e=5&_t=0&_u=u');
  });

  it('form-encodes like PHP urlencode: ~ * and space included', () => {
    const ks = createKs({
      ...base,
      userId: 'a b~c*d.e-f_g',
      validUntil: 5,
      privileges: 'appid:x!y(z)',
    });
    expect(query(ks)).toBe('appid=x%21y%28z%29&_e=5&_t=0&_u=a+b%7Ec%2Ad.e-f_g');
  });

  it('encodes unicode user ids as UTF-8 bytes', () => {
    const ks = createKs({ ...base, userId: 'ü日', validUntil: 5 });
    expect(query(ks)).toBe('_e=5&_t=0&_u=%C3%BC%E6%97%A5');
  });

  it('adds no padding when the plaintext is already a whole number of blocks', () => {
    // 20 (sha1) + 16 (random) + 28 (query) = 64 bytes.
    const ks = createKs({
      ...base,
      userId: 'abcdefghijklmno',
      validUntil: 5,
      randomBytes: countingBytes,
    });
    expect(query(ks)).toBe('_e=5&_t=0&_u=abcdefghijklmno');
    const decoded = Buffer.from(ks.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    expect(decoded.length - 'v2|12345|'.length).toBe(64);
  });
});

describe('downloadasset sessions are deterministic, as on the server (§3.3)', () => {
  it('rounds validUntil up to 5 minutes and seeds the random bytes with it', () => {
    const options = {
      ...base,
      userId: 'u',
      privileges: 'downloadasset:0_a',
      validUntil: 1_000_000_001,
    };
    const a = createKs(options);
    const b = createKs({ ...options, validUntil: 1_000_000_200 });
    expect(a).toBe(b);
    expect(verifyKs(a, { secrets: SPEC_SECRET, now: fixedClock(0) }).validUntil).toBe(
      1_000_000_200,
    );
  });

  it('v1 uses validUntil as the rand field', () => {
    const ks = createKs({
      ...base,
      version: 1,
      privileges: 'downloadasset',
      validUntil: 1_000_000_001,
    });
    expect(decodeKs(ks)).toMatchObject({ rand: '1000000200', validUntil: 1_000_000_200 });
  });
});

describe('createKs refuses anything that could change the KS meaning (ERR_KS_INVALID_FIELD)', () => {
  it('a privileges string a KS v2 accepted is still checked against the v1 rules when signed in v1', () => {
    // KS v2 trims each item (PHP's trim); KS v1 keeps it verbatim, where " sview" is no name.
    const privileges = ' sview:1_abc';
    const v2 = createKs({ ...base, version: 2, privileges });
    expect(verifyKs(v2, { ...base, secrets: SPEC_SECRET, now: () => 0 })).toMatchObject({
      privileges: 'sview:1_abc',
    });
    expectInvalidField(() => createKs({ ...base, version: 1, privileges }));
  });

  it('the spec injection: a ";" in a v1 user id would become privileges', () => {
    expectInvalidField(() =>
      createKs({
        ...base,
        version: 1,
        userId: 'mallory;disableentitlement,edit:*',
        privileges: 'sessionid:0_tok',
      }),
    );
    expectInvalidField(() => createKs({ ...base, userId: 'mallory;x' }));
  });

  it.each([
    ['";" in a privilege value', 'sview:a;b'],
    ['a control character', 'sview:a\nb'],
    ['a NUL', 'sview:a\u0000'],
    ['a name with a dot (PHP turns it into _)', 'a.b:1'],
    ['a name with a bracket (PHP makes an array)', 'e[x]:1'],
    ['a name starting with _ (a KS v2 field)', '_u:admin'],
    ['a name with a space inside', 'a b:1'],
    ['a value on *', '*:x'],
    ['a C1 control', 'sview:\u0085'],
    ['a lone surrogate', 'sview:\ud800'],
  ])('privileges with %s', (_, privileges) => {
    expectInvalidField(() => createKs({ ...base, privileges }));
    expectInvalidField(() => createKs({ ...base, privileges, version: 1 }));
  });

  it('a v1 item with surrounding spaces (v1 keeps them, so the name would be " sview")', () => {
    expectInvalidField(() => createKs({ ...base, version: 1, privileges: 'edit:a, sview:*' }));
    // v2 trims items, so the same string is fine there.
    expect(() => createKs({ ...base, privileges: 'edit:a, sview:*' })).not.toThrow();
  });

  it.each([
    ['a control character', 'a\u0007b'],
    ['a newline', 'a\nb'],
    ['the * wildcard (matches every user)', '*'],
    ['101 characters (Kaltura truncates at 100)', 'x'.repeat(101)],
    ['a lone surrogate', 'a\udc00'],
  ])('user id with %s', (_, userId) => {
    expectInvalidField(() => createKs({ ...base, userId }));
  });

  it('structured privileges: "," in a value, empty lists, non-finite numbers, odd types', () => {
    expectInvalidField(() => createKs({ ...base, privileges: { sview: 'a,edit:*' } }));
    expectInvalidField(() => createKs({ ...base, privileges: { sview: [] } }));
    expectInvalidField(() => createKs({ ...base, privileges: { actionslimit: Number.NaN } }));
    expectInvalidField(() => createKs({ ...base, privileges: { sview: ['a', ''] } }));
    expectInvalidField(() => createKs({ ...base, privileges: { '*': 'x' } }));
    expectInvalidField(() =>
      createKs({ ...base, privileges: { sview: { nested: true } as unknown as string } }),
    );
    expectInvalidField(() => createKs({ ...base, privileges: JSON.parse('{"__proto__": "x"}') }));
  });

  it('over-long privileges and additional data', () => {
    expectInvalidField(() => createKs({ ...base, privileges: `appid:${'x'.repeat(5000)}` }));
    expectInvalidField(() => createKs({ ...base, additionalData: 'x'.repeat(1025) }));
    expectInvalidField(() => createKs({ ...base, version: 1, additionalData: 'a;b' }));
  });

  it('accepts unicode, spaces, @ and , in user ids', () => {
    for (const userId of [
      'ü ñ 日本',
      'a b',
      'bob@example.com',
      'last, first',
      '0',
      'x'.repeat(100),
    ]) {
      for (const version of [1, 2] as const) {
        const ks = createKs({ ...base, userId, version });
        expect(verifyKs(ks, { secrets: SPEC_SECRET }).userId).toBe(userId);
      }
    }
  });
});

describe('createKs refuses bad options (ERR_KS_INVALID_OPTION)', () => {
  it.each([
    ['no secret', { ...base, secret: '' }],
    ['a partner id that is not an integer', { ...base, partnerId: 1.5 }],
    ['a partner id given as a string', { ...base, partnerId: '12345' }],
    ['type 1 (Kaltura would count it as admin)', { ...base, type: 1 }],
    ['version 3', { ...base, version: 3 }],
    ['expiresInSeconds 0', { ...base, expiresInSeconds: 0 }],
    ['a fractional validUntil', { ...base, validUntil: 1.5 }],
    ['a master partner id that is not an integer', { ...base, masterPartnerId: 'x' }],
    ['privileges of the wrong type', { ...base, privileges: 42 }],
    ['too few random bytes', { ...base, randomBytes: () => new Uint8Array(3) }],
  ])('%s', (_, options) => {
    let caught: unknown;
    try {
      createKs(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KsError);
    expect((caught as KsError).code).toBe('ERR_KS_INVALID_OPTION');
    expect((caught as KsError).message).not.toContain(SPEC_SECRET);
  });
});

/** The code and the reason of a refusal. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof KsError) return { code: error.code, message: error.message };
    return { code: 'not a KsError', message: String(error) };
  }
  return { code: 'no error', message: '' };
}

describe('createKs checks every call, whatever came before', () => {
  it('a privileges string accepted for a KS v2 is still refused for a v1 it would break', () => {
    // v2 trims items, so " sview:*" is fine there; v1 would read a privilege named " sview".
    const privileges = 'edit:0_a, sview:*';
    expect(verifyKs(createKs({ ...base, privileges }), { secrets: SPEC_SECRET }).privileges).toBe(
      'edit:0_a,sview:*',
    );
    expect(refusal(() => createKs({ ...base, privileges, version: 1 })).code).toBe(
      'ERR_KS_INVALID_FIELD',
    );
    // And again, the other way round.
    expect(refusal(() => createKs({ ...base, privileges, version: 1 })).code).toBe(
      'ERR_KS_INVALID_FIELD',
    );
    expect(() => createKs({ ...base, privileges })).not.toThrow();
  });

  it('the same privileges give the same v2 fields on every call', () => {
    const privileges = 'sview:0_a/0_b,*,list';
    for (let i = 0; i < 3; i++) {
      const fields = verifyKs(createKs({ ...base, privileges }), { secrets: SPEC_SECRET });
      expect(fields.privileges).toBe('sview:0_a/0_b,all:*,list');
    }
  });

  it('a privileges string accepted for v1 is accepted again for v1 and for v2', () => {
    const privileges = 'sview:*,appid:a.example';
    for (const version of [1, 1, 2, 2] as const) {
      const ks = createKs({ ...base, privileges, version });
      expect(verifyKs(ks, { secrets: SPEC_SECRET }).privileges).toBe(privileges);
    }
  });
});

describe('createKs refuses bad options, naming them', () => {
  it.each([null, undefined, 'secret', 42])('%j instead of an options object', (options) => {
    expect(refusal(() => createKs(options as never))).toEqual({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'createKs needs an options object',
    });
  });

  it.each([
    [{ version: 0 }, 'version must be 1 or 2'],
    [{ version: '2' }, 'version must be 1 or 2'],
    [{ partnerId: 1.5 }, 'partnerId must be an integer'],
    [{ masterPartnerId: 'x' }, 'masterPartnerId must be an integer'],
    [{ expiresInSeconds: -1 }, 'expiresInSeconds must be a positive integer'],
    [{ validUntil: 0 }, 'validUntil must be a positive integer'],
    [{ secret: '' }, 'secret must be a non-empty string'],
    [{ type: 1 }, 'type must be KsType.USER (0) or KsType.ADMIN (2)'],
  ])('%j', (bad, message) => {
    expect(refusal(() => createKs({ ...base, ...bad } as never))).toEqual({
      code: 'ERR_KS_INVALID_OPTION',
      message,
    });
  });

  it('takes a null or undefined masterPartnerId as none, and additionalData only when given', () => {
    for (const masterPartnerId of [null, undefined]) {
      const ks = createKs({ ...base, masterPartnerId: masterPartnerId as never });
      expect(verifyKs(ks, { secrets: SPEC_SECRET })).not.toHaveProperty('masterPartnerId');
    }
    const v1 = createKs({
      ...base,
      version: 1,
      validUntil: 5,
      randomBytes: () => new Uint8Array(4),
    });
    expect(Buffer.from(v1, 'base64').toString().split('|')[1]).toBe('12345;12345;5;0;0;;;;');
  });

  it('refuses random bytes too few for the KS version: 4 for v1, 16 for v2', () => {
    const few = (size: number) => () => new Uint8Array(size);
    expect(refusal(() => createKs({ ...base, version: 1, randomBytes: few(3) }))).toEqual({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'randomBytes returned too few bytes',
    });
    expect(refusal(() => createKs({ ...base, randomBytes: few(15) }))).toEqual({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'randomBytes returned too few bytes',
    });
    expect(() => createKs({ ...base, version: 1, randomBytes: few(4) })).not.toThrow();
    expect(() => createKs({ ...base, randomBytes: few(16) })).not.toThrow();
  });
});

describe('the random part of a KS', () => {
  it('v1: the four bytes asked for, as an unsigned big-endian integer', () => {
    const sizes: number[] = [];
    const rand = (bytes: number[]) =>
      decodeKs(
        createKs({
          ...base,
          version: 1,
          validUntil: 5,
          randomBytes: (size) => {
            sizes.push(size);
            return Uint8Array.from(bytes);
          },
        }),
      );
    expect(rand([0xff, 0xff, 0xff, 0xff])).toMatchObject({ rand: '4294967295' });
    expect(rand([0x80, 0, 0, 1])).toMatchObject({ rand: '2147483649' });
    expect(rand([1, 2, 3, 4, 5])).toMatchObject({ rand: String(0x01020304) });
    expect(sizes).toEqual([4, 4, 4]);
  });

  it('v2: the first sixteen bytes given, in front of the query, under the hash', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => 0xf0 - i);
    let asked = 0;
    const ks = createKs({
      ...base,
      userId: 'u',
      validUntil: 5,
      randomBytes: (size) => {
        asked = size;
        return bytes;
      },
    });
    expect(asked).toBe(16);
    const decoded = Buffer.from(ks, 'base64url');
    const key = createHash('sha1').update(SPEC_SECRET).digest().subarray(0, 16);
    const plain = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16))
      .setAutoPadding(false)
      .update(decoded.subarray('v2|12345|'.length));
    const body = Buffer.concat([bytes.subarray(0, 16), Buffer.from('_e=5&_t=0&_u=u')]);
    expect(plain.subarray(0, 20)).toEqual(createHash('sha1').update(body).digest());
    expect(plain.subarray(20, 20 + body.length)).toEqual(body);
    expect(plain.subarray(20 + body.length)).toEqual(Buffer.alloc(plain.length - 20 - body.length));
  });

  it('v2 without injected bytes: sixteen secure random bytes, new on every KS', () => {
    const randoms = new Set<string>();
    const key = createHash('sha1').update(SPEC_SECRET).digest().subarray(0, 16);
    for (let i = 0; i < 50; i++) {
      const decoded = Buffer.from(createKs({ ...base, validUntil: 5 }), 'base64url');
      const plain = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16))
        .setAutoPadding(false)
        .update(decoded.subarray('v2|12345|'.length));
      randoms.add(plain.subarray(20, 36).toString('hex'));
      expect(plain.subarray(36, 49).toString()).toBe('_e=5&_t=0&_u=');
      expect(plain.subarray(49)).toEqual(Buffer.alloc(plain.length - 49));
    }
    expect(randoms.size).toBe(50);
  });
});

describe('KS v2 length and padding', () => {
  it.each([0, 1, 11, 12, 13, 27, 28, 29, 100, 1000])(
    'a user id of %i characters: whole AES blocks, base64url with its = padding, and it reads back',
    (length) => {
      const userId = 'u'.repeat(Math.min(length, 100));
      const privileges = length > 100 ? `appid:${'p'.repeat(length)}` : '';
      const ks = createKs({
        ...base,
        userId,
        privileges,
        validUntil: 5,
        randomBytes: countingBytes,
      });
      expect(ks).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
      expect(ks.length % 4).toBe(0);
      const decoded = Buffer.from(ks, 'base64url');
      expect(decoded.subarray(0, 9).toString()).toBe('v2|12345|');
      const queryLength =
        `_e=5&_t=0&_u=${userId}`.length + (privileges ? privileges.length + 1 : 0);
      expect(decoded.length - 9).toBe(Math.ceil((36 + queryLength) / 16) * 16);
      expect(verifyKs(ks, { secrets: SPEC_SECRET, now: fixedClock(0) })).toMatchObject({
        userId,
        privileges,
      });
    },
  );
});
