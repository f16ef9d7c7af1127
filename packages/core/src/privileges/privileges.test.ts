import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import {
  buildPrivileges,
  formatPrivileges,
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

  it('allows values with ":" "/" "|" "=" "&" and spaces inside', () => {
    expect(formatPrivileges({ urirestrict: 'https://x/a*|/b', custom: 'a=b&c d' })).toBe(
      'urirestrict:https://x/a*|/b,custom:a=b&c d',
    );
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
