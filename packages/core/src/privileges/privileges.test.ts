import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import {
  buildPrivileges,
  formatPrivileges,
  MAX_PRIVILEGES_LENGTH,
  normalizePrivileges,
  parsePrivileges,
  v2Fields,
  validatePrivilegesString,
} from './privileges.js';

const asObject = (map: Map<string, string[]>) => Object.fromEntries(map);

describe('parsePrivileges', () => {
  it('v1 (default): the spec example (§5.1) — merged values, verbatim items', () => {
    const map = parsePrivileges('edit:a,edit:b/c,list,,sview:,setrole:1:2');
    expect(asObject(map)).toEqual({
      edit: ['a', 'b', 'c'],
      list: [],
      '': [],
      sview: [],
      setrole: ['1:2'],
    });
    expect(buildPrivileges(map)).toBe('edit:a/b/c,list,,sview,setrole:1:2');
    expect([...parsePrivileges(' x:y').keys()]).toEqual([' x']);
  });

  it('v2: trimmed, empty and "0" dropped, * as all:*, last value wins in first position', () => {
    const map = parsePrivileges(' edit:a ,list,0,,*,edit:b/c', { version: 2 });
    expect([...map]).toEqual([
      ['edit', ['b', 'c']],
      ['list', []],
      ['all', ['*']],
    ]);
  });

  it('v2Fields gives the raw v2 dictionary', () => {
    expect([...v2Fields('sview:*,appid:x,flag')]).toEqual([
      ['sview', '*'],
      ['appid', 'x'],
      ['flag', ''],
    ]);
    expect(v2Fields('').size).toBe(0);
  });
});

describe('formatPrivileges', () => {
  it('writes the structured form in key order', () => {
    expect(
      formatPrivileges({
        sview: '*',
        actionslimit: 10,
        disableentitlement: true,
        edit: ['0_a', '0_b'],
        list: false,
        preview: null,
        limitentry: undefined,
        appid: 'app-example.com',
      }),
    ).toBe('sview:*,actionslimit:10,disableentitlement,edit:0_a/0_b,appid:app-example.com');
    expect(formatPrivileges({ '*': true })).toBe('*');
    expect(formatPrivileges({})).toBe('');
    expect(formatPrivileges(undefined)).toBe('');
  });

  it('returns a valid string unchanged (byte-compatible with the server)', () => {
    for (const s of [
      'sview:*,appid:app-example.com',
      'edit:a,edit:b/c',
      'urirestrict:/p/a*|/q',
      'setrole:1:2',
    ]) {
      expect(formatPrivileges(s)).toBe(s);
    }
  });

  it('allows values with "/" "|" "=" "&" and spaces inside, and ":" after hex digits (IPv6)', () => {
    expect(formatPrivileges({ urirestrict: '/x/a*|/b', custom: 'a=b&c d' })).toBe(
      'urirestrict:/x/a*|/b,custom:a=b&c d',
    );
    for (const s of [
      'iprestrict:2001:db8::1/::ffff:10.0.0.1/fe80::A:b',
      'setrole:1:2',
      'custom::x',
    ]) {
      for (const version of [1, 2] as const) expect(formatPrivileges(s, version)).toBe(s);
    }
  });

  // Kaltura tests privileges by substring (ks::verifyPrivileges: strpos of "edit:*" or
  // "edit:<entry>" in the whole privileges string), so "name:" inside a value is that
  // privilege: an entry id taken from a request must not grant edit on every entry.
  it('refuses "name:" inside a value, which Kaltura would read as that privilege', () => {
    const smuggling = [
      { sview: '0_abc:edit:*' },
      { sview: ['0_abc', '0_def:list:*'] },
      { appid: 'app:download:*' },
      { urirestrict: 'https://x/a' },
    ];
    for (const input of smuggling) {
      for (const version of [1, 2] as const) {
        expect(() => formatPrivileges(input, version)).toThrow(
          expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
        );
      }
    }
    for (const s of ['sview:0_abc:edit:*', 'limitentry:x-sview:*', 'sview::edit:0_e']) {
      for (const version of [1, 2] as const) {
        expect(() => validatePrivilegesString(s, version)).toThrow(
          expect.objectContaining({
            code: 'ERR_KS_INVALID_FIELD',
            message: expect.stringMatching(
              /^Privilege "(sview|limitentry)" has "[^"]+:" in its value/,
            ),
          }),
        );
      }
    }
  });

  it('throws ERR_KS_INVALID_FIELD naming the privilege', () => {
    try {
      formatPrivileges({ 'bad name': 'x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KsError);
      expect((error as KsError).code).toBe('ERR_KS_INVALID_FIELD');
      expect((error as KsError).message).toContain('bad name');
    }
  });

  it('throws ERR_KS_INVALID_OPTION for input that is neither string nor object', () => {
    for (const input of [42, ['sview:*'], null]) {
      expect(() => formatPrivileges(input as never)).toThrow(
        expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
      );
    }
  });
});

describe('validatePrivilegesString checks items as each version will read them', () => {
  it('v2 tolerates spaces around items, v1 does not', () => {
    expect(validatePrivilegesString('edit:a , sview:*', 2)).toBe('edit:a , sview:*');
    expect(() => validatePrivilegesString('edit:a , sview:*', 1)).toThrow(KsError);
  });

  it('both accept empty items (neither gives them meaning)', () => {
    expect(validatePrivilegesString('sview:*,', 1)).toBe('sview:*,');
    expect(validatePrivilegesString(',,sview:*', 2)).toBe(',,sview:*');
  });
});

describe('normalizePrivileges (cache keys)', () => {
  it('is the same for the same meaning in another order', () => {
    expect(normalizePrivileges('sview:*,appid:x')).toBe(
      normalizePrivileges({ appid: 'x', sview: '*' }),
    );
    expect(normalizePrivileges(' sview:* ,appid:x,')).toBe('appid:x,sview:*');
  });

  it('keeps value order (urirestrict is one path split on "/")', () => {
    expect(normalizePrivileges('urirestrict:/b/a')).toBe('urirestrict:/b/a');
  });

  it('follows the version: v2 keeps the last of a repeated name, v1 merges', () => {
    expect(normalizePrivileges('edit:a,edit:b', 2)).toBe('edit:b');
    expect(normalizePrivileges('edit:a,edit:b', 1)).toBe('edit:a/b');
  });

  it('differs when the meaning differs', () => {
    expect(normalizePrivileges('sview:1')).not.toBe(normalizePrivileges('sview:2'));
    expect(normalizePrivileges('sview:1')).not.toBe(normalizePrivileges('sview:1,list'));
  });
});

describe('a privilege named "0"', () => {
  // Found by the fuzz suite: `0:` passed validation, a KS v2 wrote it as a bare `0`, and
  // Kaltura (PHP's falsy "0") drops that item when it reads the KS back.
  it.each([
    ['0:', 1],
    ['0:', 2],
    ['sview:*,0:x', 2],
    ['0:x', 1],
  ] as const)('is refused in %j (v%d)', (input, version) => {
    expect(() => formatPrivileges(input, version)).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
    );
  });

  it('is refused in the structured form', () => {
    expect(() => formatPrivileges({ 0: true }, 2)).toThrow(KsError);
  });

  it('while a bare "0" item in a KS v2 string still means nothing, as at Kaltura', () => {
    expect(normalizePrivileges('sview:*,0', 2)).toBe('sview:*');
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

const invalidField = (message: string) => ({ code: 'ERR_KS_INVALID_FIELD', message });

describe('privilege names', () => {
  it('refuses a name starting with "_": those are the KS v2 fields', () => {
    for (const version of [1, 2] as const) {
      for (const input of ['_u:admin', { _e: '1' }]) {
        expect(refusal(() => formatPrivileges(input, version))).toEqual(
          invalidField(
            `Privilege name "${typeof input === 'string' ? '_u' : '_e'}" is reserved: names starting with "_" are KS v2 fields`,
          ),
        );
      }
    }
  });

  it('accepts "_" and "-" inside and at the end of a name, and a name starting with a digit or "-"', () => {
    for (const name of ['a_', 'a_b', 'a-', '-a', '9lives', 'A-Z_0']) {
      expect(formatPrivileges(`${name}:1`)).toBe(`${name}:1`);
      expect(formatPrivileges({ [name]: 1 }, 1)).toBe(`${name}:1`);
    }
  });

  it('refuses any other character in a name, and says which version would misread it', () => {
    expect(refusal(() => formatPrivileges('a.b:1', 1))).toEqual(
      invalidField(
        'Privilege name "a.b" is not allowed in a KS v1: use letters, digits, "_" and "-"',
      ),
    );
    expect(refusal(() => formatPrivileges({ 'a b': 1 }, 2))).toEqual(
      invalidField(
        'Privilege name "a b" is not allowed in a KS v2: use letters, digits, "_" and "-"',
      ),
    );
  });

  it('quotes a long bad name cut at 40 characters, and a name of 40 in full', () => {
    const forty = `${'x'.repeat(39)}.`;
    expect(refusal(() => formatPrivileges(`${forty}:1`)).message).toBe(
      `Privilege name ${JSON.stringify(forty)} is not allowed in a KS v2: use letters, digits, "_" and "-"`,
    );
    expect(refusal(() => formatPrivileges(`${forty}yz:1`)).message).toBe(
      `Privilege name ${JSON.stringify(`${forty}…`)} is not allowed in a KS v2: use letters, digits, "_" and "-"`,
    );
  });

  it('"*" alone is every privilege, in both versions, and takes no value', () => {
    for (const version of [1, 2] as const) {
      expect(formatPrivileges('*', version)).toBe('*');
      expect(formatPrivileges({ '*': true, sview: '0_a' }, version)).toBe('*,sview:0_a');
      expect(formatPrivileges({ '*': false }, version)).toBe('');
      expect(refusal(() => formatPrivileges('*:all', version))).toEqual(
        invalidField('The "*" privilege takes no value'),
      );
      expect(refusal(() => formatPrivileges({ '*': 'all' }, version))).toEqual(
        invalidField('The "*" privilege takes no value (use "*": true)'),
      );
    }
  });

  it('a bare "0" item means nothing in a KS v2 and is refused in a KS v1, which would keep it', () => {
    expect(validatePrivilegesString('sview:*,0', 2)).toBe('sview:*,0');
    expect(validatePrivilegesString(' 0 ,sview:*', 2)).toBe(' 0 ,sview:*');
    expect(refusal(() => validatePrivilegesString('sview:*,0', 1))).toEqual(
      invalidField('A privilege cannot be named "0": Kaltura reads "0" as no privilege at all'),
    );
  });

  it('only a bare "0" is skipped in a KS v2: every other item is still checked', () => {
    for (const bad of ['0,sview:a;b', 'sview:a;b,0', '0,a.b', '00:x,_u:y']) {
      expect(refusal(() => validatePrivilegesString(bad, 2)).code).toBe('ERR_KS_INVALID_FIELD');
    }
  });
});

describe('privilege values', () => {
  it('refuses ";", control characters and broken Unicode in a value, naming the privilege', () => {
    for (const value of ['a;b', 'a\u0001', 'a\ud800']) {
      for (const input of [`sview:${value}`, { sview: value }]) {
        expect(refusal(() => formatPrivileges(input, 1))).toEqual(
          invalidField(
            typeof input === 'string' && value !== 'a;b'
              ? 'Privileges contain a control character or broken Unicode'
              : 'Privilege "sview" has a value with a control character, ";" or broken Unicode',
          ),
        );
      }
    }
  });

  it('writes the structured values: true is a bare name, numbers in decimal, lists joined by "/"', () => {
    expect(
      formatPrivileges({ a: true, b: 0, c: -1.5, d: [1, 'x', 2], e: '', f: false, g: null }, 1),
    ).toBe('a,b:0,c:-1.5,d:1/x/2,e');
  });

  it.each([
    [{ sview: Number.POSITIVE_INFINITY }, 'Privilege "sview" must be a finite number'],
    [{ sview: Number.NaN }, 'Privilege "sview" must be a finite number'],
    [{ sview: 'a,b' }, 'Privilege "sview" has a "," in its value'],
    [{ sview: ['a', 'b,c'] }, 'Privilege "sview" has a "," in its value'],
    [
      { sview: [] },
      'Privilege "sview" has an empty list: leave it out, or use true for a bare name',
    ],
    [{ sview: ['a', ''] }, 'Privilege "sview" has an empty value in its list'],
    [{ sview: [true] }, 'Privilege "sview" has an empty value in its list'],
    [{ sview: [null] }, 'Privilege "sview" has an empty value in its list'],
    [{ sview: [Number.NaN] }, 'Privilege "sview" must be a finite number'],
    [{ sview: { a: 1 } }, 'Privilege "sview" has a value of an unsupported type'],
    [{ sview: 10n }, 'Privilege "sview" has a value of an unsupported type'],
  ])('refuses %o', (input, message) => {
    expect(refusal(() => formatPrivileges(input as never, 2))).toEqual(invalidField(message));
  });

  it('refuses anything but a string or a plain record, as a bad option', () => {
    for (const input of [42, ['sview:*'], null, true]) {
      expect(refusal(() => formatPrivileges(input as never))).toEqual({
        code: 'ERR_KS_INVALID_OPTION',
        message: 'privileges must be a string or an object of name → value',
      });
    }
  });
});

describe(`privileges are at most ${MAX_PRIVILEGES_LENGTH} characters`, () => {
  it.each([1, 2] as const)('v%i: the limit is accepted, one more is refused', (version) => {
    const atLimit = `appid:${'x'.repeat(MAX_PRIVILEGES_LENGTH - 6)}`;
    expect(formatPrivileges(atLimit, version)).toBe(atLimit);
    const message = `Privileges are longer than ${MAX_PRIVILEGES_LENGTH} characters`;
    expect(refusal(() => formatPrivileges(`${atLimit}x`, version))).toEqual(invalidField(message));
    // The structured form is held to the same limit once written out.
    expect(refusal(() => formatPrivileges({ appid: `${atLimit.slice(6)}x` }, version))).toEqual(
      invalidField(message),
    );
  });

  it('refuses control characters anywhere, even in an item that would be skipped', () => {
    for (const input of ['sview:*,\u0000', '\u007f', 'a,\t,b']) {
      expect(refusal(() => validatePrivilegesString(input, 2))).toEqual(
        invalidField('Privileges contain a control character or broken Unicode'),
      );
    }
  });
});

describe('parsePrivileges and v2Fields details', () => {
  it('reads an item that starts with ":" as an empty name with a value', () => {
    expect([...parsePrivileges(':a/b')]).toEqual([['', ['a', 'b']]]);
    expect([...v2Fields(':a')]).toEqual([['', 'a']]);
  });

  it('splits an item on its first ":" only, and a value on every "/"', () => {
    expect([...parsePrivileges('urirestrict:http://a/b/*')]).toEqual([
      ['urirestrict', ['http:', '', 'a', 'b', '*']],
    ]);
    expect([...v2Fields('setrole:1:2,edit:')]).toEqual([
      ['setrole', '1:2'],
      ['edit', ''],
    ]);
    expect([...parsePrivileges('edit:', { version: 2 })]).toEqual([['edit', []]]);
  });

  it('v2 trims with PHP rules: tabs, newlines and NUL go, other spaces stay', () => {
    expect([...v2Fields('\t\n sview:a\u0000,\u00a0x')]).toEqual([
      ['sview', 'a'],
      ['\u00a0x', ''],
    ]);
  });

  it('v1 keeps items verbatim, empty names included, and merges repeated names', () => {
    expect([...parsePrivileges('a:1,,a:2/3,a', {})]).toEqual([
      ['a', ['1', '2', '3']],
      ['', []],
    ]);
  });

  it('normalizePrivileges sorts names and drops the empty one', () => {
    expect(normalizePrivileges('b:1,,a:2,c', 1)).toBe('a:2,b:1,c');
    expect(normalizePrivileges('', 2)).toBe('');
    expect(normalizePrivileges(undefined)).toBe('');
  });
});
