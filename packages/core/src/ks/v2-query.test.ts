import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { readAsciiQuery, readQueryBytes, readV2Query, type V2QueryFields } from './v2-query.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

function fields(partial: Partial<V2QueryFields>): V2QueryFields {
  return {
    privileges: '',
    validUntil: undefined,
    type: undefined,
    userId: '',
    master: undefined,
    additional: undefined,
    ...partial,
  };
}

/** What readV2Query gives, or the code and message it throws. */
function outcome(read: () => V2QueryFields): V2QueryFields | { code: string; message: string } {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof KsError)) throw error;
    return { code: error.code, message: error.message };
  }
}

describe('readAsciiQuery, the fast path', () => {
  it('reads the reserved fields and the privileges in order', () => {
    expect(
      readAsciiQuery('edit=%2A&sview=0_abc%2F0_def&_e=2000000000&_t=2&_u=alice&_m=99&_d=x+y'),
    ).toEqual(
      fields({
        privileges: 'edit:*,sview:0_abc/0_def',
        validUntil: '2000000000',
        type: '2',
        userId: 'alice',
        master: '99',
        additional: 'x y',
      }),
    );
  });

  it('keeps the first position of a repeated name and its last value, and the last reserved value', () => {
    expect(readAsciiQuery('a=1&b=2&a=3&_u=x&_u=y')).toEqual(
      fields({ privileges: 'a:3,b:2', userId: 'y' }),
    );
  });

  it('writes a privilege without a value (or without "=") by its bare name; "all:*" alone is "*"', () => {
    expect(readAsciiQuery('list&view=&edit=1')).toEqual(fields({ privileges: 'list,view,edit:1' }));
    expect(readAsciiQuery('all=%2A&_e=1')).toEqual(fields({ privileges: '*', validUntil: '1' }));
    expect(readAsciiQuery('all=%2A&x=1')).toEqual(fields({ privileges: 'all:*,x:1' }));
  });

  it('decodes "+" and ASCII escapes in either case, and leaves a broken or cut escape as it is', () => {
    expect(readAsciiQuery('_u=a+b%40c%2f%7E')).toEqual(fields({ userId: 'a b@c/~' }));
    expect(readAsciiQuery('_u=%zz%4%')).toEqual(fields({ userId: '%zz%4%' }));
    expect(readAsciiQuery('_u=%G1%1G')).toEqual(fields({ userId: '%G1%1G' }));
    expect(readAsciiQuery('_u=%4&_d=%41')).toEqual(fields({ userId: '%4', additional: 'A' }));
    expect(readAsciiQuery('_u=100%')).toEqual(fields({ userId: '100%' }));
    expect(readAsciiQuery('_u=%00%7f%20')).toEqual(fields({ userId: '\u0000\u007f ' }));
    expect(readAsciiQuery('_u=a=b=c')).toEqual(fields({ userId: 'a=b=c' }));
  });

  it('skips empty pairs, first, last and between', () => {
    expect(readAsciiQuery('&&_u=a&&_t=0&')).toEqual(fields({ userId: 'a', type: '0' }));
    expect(readAsciiQuery('')).toEqual(fields({}));
  });

  it.each([
    ['a key with a space (PHP changes it)', 'a b=1'],
    ['a leading space', ' a=1'],
    ['a dot', 'a.b=1'],
    ['a "["', 'a[b]=1'],
    ['an escape in a key', 'a%41=1'],
    ['a "+" in a key', 'a+b=1'],
    ['a NUL in a key', 'a\u0000=1'],
    ['a key past ASCII', 'é=1'],
    ['an empty key', '=1'],
    ['a value past ASCII', '_u=é'],
    ['an escape past ASCII', '_u=%C3%A9'],
    ['the first escape past ASCII', '_u=%80'],
    ['a lower-case escape past ASCII', '_u=%ff'],
    ['a character past ASCII after an escape', '_u=%41é'],
  ])('leaves %s to the byte path', (_, query) => {
    expect(readAsciiQuery(query)).toBeNull();
  });

  it('accepts every key character PHP leaves alone', () => {
    const name = 'AZaz09_-';
    expect(readAsciiQuery(`${name}=1`)).toEqual(fields({ privileges: `${name}:1` }));
  });
});

describe('readV2Query', () => {
  it('reads the query between two offsets, nothing outside them', () => {
    const bytes = latin1('XXXX_u=alice&_t=2YYYY');
    expect(readV2Query(bytes, 4, bytes.length - 4)).toEqual(fields({ userId: 'alice', type: '2' }));
  });

  it('reads UTF-8 fields and normalised keys on the byte path', () => {
    const bytes = Buffer.from('_u=%C3%A9l%C3%A8ve&a.b=1& c=2&_d=Z%C3%B6e', 'latin1');
    expect(readV2Query(bytes, 0, bytes.length)).toEqual(
      fields({ userId: 'élève', privileges: 'a_b:1,c:2', additional: 'Zöe' }),
    );
  });

  it('refuses a key PHP would make an array, and bytes that are not UTF-8, as malformed', () => {
    for (const query of ['a[b]=1', '_u=%C3', '_u=%FF', 'n%C3=1']) {
      const bytes = latin1(query);
      const result = outcome(() => readV2Query(bytes, 0, bytes.length));
      expect(result).toMatchObject({ code: 'ERR_KS_MALFORMED' });
    }
    const array = latin1('a[b]=1');
    expect(() => readV2Query(array, 0, array.length)).toThrow(
      'The KS v2 has a field Kaltura cannot read',
    );
    const notUtf8 = latin1('_u=%FF');
    expect(() => readV2Query(notUtf8, 0, notUtf8.length)).toThrow(
      'The KS field is not valid UTF-8',
    );
  });

  it('gives what the byte path gives, for any query (fast path or not)', () => {
    // Biased towards what the fast path must get right: separators, escapes, key characters.
    const piece = fc.oneof(
      fc.constantFrom(
        '&',
        '=',
        '+',
        '%',
        '%2',
        '%2A',
        '%2a',
        '%41',
        '%7F',
        '%80',
        '%C3%A9',
        '%00',
        '%zz',
        '_e',
        '_t',
        '_u',
        '_m',
        '_d',
        'all',
        '*',
        ' ',
        '.',
        '[',
        ']',
        '\u0000',
        'é',
        'a',
        'Z',
        '0',
        '-',
        '_',
      ),
      fc.string({ maxLength: 4, unit: 'binary-ascii' }),
      fc.string({
        maxLength: 3,
        unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const bytes = latin1(pieces.join(''));
        const expected = outcome(() => readQueryBytes(bytes));
        expect(outcome(() => readV2Query(bytes, 0, bytes.length))).toEqual(expected);
        const fast = readAsciiQuery(bytes.toString('latin1'));
        if (fast !== null) expect(fast).toEqual(expected);
      }),
      { numRuns: 5_000 },
    );
  });
});
