import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeKsBase64,
  decodeKsBase64Strictly,
  decodePlainKsBase64ToLatin1,
  isPlainBase64,
} from './base64.js';
import {
  mt19937,
  PhpArrayKeyError,
  phpParseStr,
  phpSeededBytes,
  phpTrim,
  phpUrlencode,
  writePhpUrlencoded,
} from './php.js';

describe('phpUrlencode (RFC 1738, as PHP urlencode)', () => {
  it.each([
    ['abcXYZ019-_.', 'abcXYZ019-_.'],
    ['a b', 'a+b'],
    ['*', '%2A'],
    ['~', '%7E'],
    ["!'()", '%21%27%28%29'],
    ['/:,;=&+%', '%2F%3A%2C%3B%3D%26%2B%25'],
    ['é', '%C3%A9'],
    ['😀', '%F0%9F%98%80'],
  ])('%j → %j', (input, output) => {
    expect(phpUrlencode(input)).toBe(output);
  });
});

describe('writePhpUrlencoded', () => {
  const encoded = (value: string) => {
    const target = Buffer.alloc(9 * value.length + 8, '#');
    const end = writePhpUrlencoded(target, 4, value);
    expect(target.toString('latin1', 0, 4)).toBe('####');
    expect(target.toString('latin1', end)).toMatch(/^#*$/);
    return target.toString('latin1', 4, end);
  };

  it.each([
    ['abcXYZ019-_.'],
    ['a b'],
    ['alice@example.com'],
    ["*~!'()/:,;=&+%"],
    ['\u0000\u001f\u007f'],
    ['é'],
    ['alice-é'],
    ['😀 x'],
    [''],
  ])('writes phpUrlencode(%j)', (value) => {
    expect(encoded(value)).toBe(phpUrlencode(value));
  });

  it('writes what phpUrlencode gives, for any well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: 'grapheme' }), (value) => {
        expect(encoded(value)).toBe(phpUrlencode(value));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('phpParseStr (PHP 8 parse_str as KS v2 parsing sees it)', () => {
  const parse = (query: string) =>
    Object.fromEntries(
      [...phpParseStr(Buffer.from(query, 'latin1'))].map(([k, v]) => [k, v.toString('latin1')]),
    );

  it('decodes + and %XX, leaves broken escapes alone', () => {
    expect(parse('a=1+2&b=%41%4a&c=%zz&d=%4')).toEqual({ a: '1 2', b: 'AJ', c: '%zz', d: '%4' });
  });

  it('takes a key without "=" as an empty value, and skips empty pairs', () => {
    expect(parse('a&&b=&=x')).toEqual({ a: '', b: '' });
    // At the very start too: an empty pair, and a pair with an empty key.
    expect(parse('&a=1')).toEqual({ a: '1' });
    expect(parse('=x&a=1')).toEqual({ a: '1' });
    expect(parse('=x')).toEqual({});
  });

  it('normalises keys: leading spaces go, spaces and dots become _, a NUL ends the key', () => {
    expect(parse('  x=1&a.b=2&c d=3&e%00f=4&+g=5')).toEqual({
      x: '1',
      a_b: '2',
      c_d: '3',
      e: '4',
      g: '5',
    });
  });

  it('an unmatched "[" and every later space, dot or "[" become _', () => {
    expect(parse('f[=1&g[a.b c[=2')).toEqual({ f_: '1', g_a_b_c_: '2' });
  });

  it('drops a key that is empty before its "["', () => {
    expect(parse('[a=1&b=2')).toEqual({ b: '2' });
  });

  it('refuses array keys, which Kaltura cannot read', () => {
    expect(() => parse('e[x]=1')).toThrow(PhpArrayKeyError);
    expect(() => parse('e[]=1')).toThrow(PhpArrayKeyError);
    expect(() => parse('e[ ]=1')).toThrow(PhpArrayKeyError);
  });

  it('keeps the first position of a repeated key with the last value', () => {
    expect([...phpParseStr(Buffer.from('a=1&b=2&a=3'))].map(([k, v]) => `${k}=${v}`)).toEqual([
      'a=3',
      'b=2',
    ]);
  });
});

describe('phpTrim', () => {
  it('strips PHP whitespace (space, \\t, \\n, \\r, \\0, \\x0B) and nothing else', () => {
    expect(phpTrim(' \t\n\r\0\u000b a \u00a0\t')).toBe('a \u00a0');
    expect(phpTrim('abc')).toBe('abc');
  });
});

describe('mt19937 (PHP srand/rand)', () => {
  it('matches the reference generator (init_genrand(5489))', () => {
    expect([...mt19937(5489, 3)]).toEqual([3499211612, 581869302, 3890346734]);
  });

  it('matches the published first outputs for seed 1', () => {
    expect([...mt19937(1, 2)]).toEqual([1791095845, 4282876139]);
  });

  it('gives rand(0, 255) as the low byte', () => {
    expect([...phpSeededBytes(5489, 3)]).toEqual([
      3499211612 & 255,
      581869302 & 255,
      3890346734 & 255,
    ]);
  });
});

describe('decodeKsBase64 (PHP base64_decode strict, after - → + and _ → /)', () => {
  const text = (s: string) => decodeKsBase64(s)?.toString('latin1') ?? null;

  it.each([
    ['QUJD', 'ABC'],
    ['QUI=', 'AB'],
    ['QUI', 'AB'],
    ['QQ==', 'A'],
    ['QQ', 'A'],
    [' Q U\tJ\nD\r ', 'ABC'],
    ['QQ== ', 'A'],
    ['-_-_', '\xfb\xff\xbf'],
    ['+/+/', '\xfb\xff\xbf'],
    ['', ''],
  ])('accepts %j', (input, output) => {
    expect(text(input)).toBe(output);
  });

  it.each([
    ['Q'],
    ['QUJDQ'],
    ['QQ=A'],
    ['QQ==='],
    ['QUJD='],
    ['Q==='],
    ['QU*D'],
    ['QUJ\u00e9'],
    ['QUJ\u0100'],
    ['QQ=\u000b'],
  ])('refuses %j', (input) => {
    expect(text(input)).toBeNull();
  });
});

describe('isPlainBase64: text Node decodes exactly as PHP does', () => {
  it.each([
    [''],
    ['QUJD'],
    ['QUI='],
    ['QUI'],
    ['QQ=='],
    ['QQ'],
    ['-_-_'],
    ['+/+/'],
    ['ab+/-_09AZ'],
  ])('%j is', (input) => {
    expect(isPlainBase64(input)).toBe(true);
  });

  it.each([
    ['Q'],
    ['QUJDQ'],
    ['QUJDQ=='],
    ['='],
    ['=='],
    ['Q=='],
    ['QQ='],
    ['QUI=='],
    ['QQ==='],
    ['QQ=A'],
    [' QUJD'],
    ['QU JD'],
    ['QUJD\n'],
    ['QU*D'],
    ['QUJ\u00e9'],
  ])('%j is not', (input) => {
    expect(isPlainBase64(input)).toBe(false);
  });

  it('decodeKsBase64 gives what the strict path gives, for any text of base64 characters and spaces', () => {
    const text = fc.string({
      maxLength: 40,
      unit: fc.constantFrom(...'AQgw+/-_09= \n\t.'.split('')),
    });
    fc.assert(
      fc.property(text, (input) => {
        expect(decodeKsBase64(input)).toEqual(decodeKsBase64Strictly(input));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('decodePlainKsBase64ToLatin1 (the v1 fast path)', () => {
  it("gives the strict path's bytes whenever it answers, for any text of base64 characters and whitespace", () => {
    const text = fc.string({
      maxLength: 40,
      unit: fc.constantFrom(...'AQgw+/-_09= \n\t\f\r.'.split('')),
    });
    let answered = 0;
    fc.assert(
      fc.property(text, (input) => {
        const fast = decodePlainKsBase64ToLatin1(input);
        if (fast === null) return;
        answered++;
        expect(Buffer.from(fast, 'latin1')).toEqual(decodeKsBase64Strictly(input));
      }),
      { numRuns: 5_000 },
    );
    expect(answered).toBeGreaterThan(100);
  });

  it.each([
    ['QUJD', 'ABC'],
    ['QUI=', 'AB'],
    ['QUI', 'AB'],
    ['QQ==', 'A'],
    ['', ''],
  ])('%j reads as %j', (input, expected) => {
    expect(decodePlainKsBase64ToLatin1(input)).toBe(expected);
  });

  it.each([
    ['whitespace, which atob would skip', 'QU JDQQ'],
    ['a form feed, which atob skips and PHP refuses', 'QU\fJDQQ'],
    ['the url-safe alphabet', 'Pz8_'],
    ['a group of one character', 'QUJDR'],
    ['padding that does not complete a group', 'QUI=='],
    ['padding in the middle', 'QQ==QUJD'],
  ])('leaves %s to the byte path', (_, input) => {
    expect(decodePlainKsBase64ToLatin1(input)).toBeNull();
  });
});

describe('decodeKsBase64 reads every byte back, in both alphabets, padded or not', () => {
  it('for every length up to 48 and every byte value', () => {
    for (let length = 0; length <= 48; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 97 + length * 31) & 0xff));
      const standard = bytes.toString('base64');
      for (const text of [
        standard,
        standard.replace(/=+$/, ''),
        bytes.toString('base64url'),
        `${standard.slice(0, 5)}\n${standard.slice(5)}`,
      ]) {
        expect(decodeKsBase64(text)?.equals(bytes), `${length}: ${text}`).toBe(true);
      }
    }
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decodeKsBase64(all.toString('base64'))?.equals(all)).toBe(true);
  });

  it('skips only the whitespace PHP skips: space, tab, CR and LF', () => {
    expect(decodeKsBase64(' Q\tU\rJ\nD ')?.toString()).toBe('ABC');
    for (const other of ['\u000b', '\u000c', '\u0000', '\u00a0', '.', '!', '@', '[', '`', '{']) {
      expect(decodeKsBase64(`QU${other}JD`), JSON.stringify(other)).toBeNull();
    }
  });

  it('takes "-" and "_" as "+" and "/"', () => {
    expect(decodeKsBase64('-A==')).toEqual(Buffer.of(0xf8));
    expect(decodeKsBase64('_A==')).toEqual(Buffer.of(0xfc));
    expect(decodeKsBase64('+A==')).toEqual(Buffer.of(0xf8));
    expect(decodeKsBase64('/A==')).toEqual(Buffer.of(0xfc));
  });

  it('accepts one or two "=" only where they complete a group of four', () => {
    expect(decodeKsBase64('QUI=')?.toString()).toBe('AB');
    expect(decodeKsBase64('QUI= ')?.toString()).toBe('AB');
    expect(decodeKsBase64('QUI==')).toBeNull();
    expect(decodeKsBase64('QQ=')).toBeNull();
    expect(decodeKsBase64('QQ= =')?.toString()).toBe('A');
    expect(decodeKsBase64('=')).toBeNull();
    expect(decodeKsBase64('QUJD====')).toBeNull();
    expect(decodeKsBase64('QUJDQUJD=')).toBeNull();
  });
});

describe('PHP urldecode as parse_str applies it', () => {
  const value = (query: string) => phpParseStr(Buffer.from(query, 'latin1')).get('k');

  it('reads hex digits in either case, and nothing outside 0-9, a-f, A-F', () => {
    expect(value('k=%2f%2F%3a%3A%4a%4A%60%7e')?.toString('latin1')).toBe('//::JJ`~');
    for (const broken of ['%/0', '%:0', '%@0', '%G0', '%`0', '%g0', '%0/', '%0:', '%0G', '%0g']) {
      expect(value(`k=${broken}`)?.toString('latin1'), broken).toBe(broken);
    }
  });

  it('decodes an escape at the very end of a key or value, and leaves a cut one alone', () => {
    expect(value('k=a%41')?.toString()).toBe('aA');
    expect(value('k=a%4')?.toString()).toBe('a%4');
    expect(value('k=a%')?.toString()).toBe('a%');
    expect(phpParseStr(Buffer.from('%6b=1&x%4=2')).get('x%4')?.toString()).toBe('2');
    expect(phpParseStr(Buffer.from('%6b=1')).get('k')?.toString()).toBe('1');
  });

  it('keeps every byte of a value, "=" included, and gives binary bytes as they are', () => {
    expect(value('k=a=b=c')?.toString()).toBe('a=b=c');
    expect(value('k=%00%FF%80')).toEqual(Buffer.of(0, 0xff, 0x80));
    expect(value('k=++')?.toString()).toBe('  ');
  });
});

describe('parse_str key normalisation, in detail', () => {
  const keys = (query: string) => [...phpParseStr(Buffer.from(query, 'latin1')).keys()];

  it('drops leading spaces only, and a key that is only spaces', () => {
    expect(keys('  a b =1')).toEqual(['a_b_']);
    expect(keys('   =1&b=2')).toEqual(['b']);
    expect(keys('%20%20x=1')).toEqual(['x']);
  });

  it('ends a key at its first NUL, dropping a key that starts with one', () => {
    expect(keys('ab%00cd=1&%00x=2&y=3')).toEqual(['ab', 'y']);
  });

  it('turns "[" and every later space, dot or "[" into "_" when no "]" follows', () => {
    expect(keys('a.b[c d.e[f=1')).toEqual(['a_b_c_d_e_f']);
  });

  it('refuses a key with a "]" anywhere after its "[", however far', () => {
    expect(() => phpParseStr(Buffer.from('a[bcdefgh]=1'))).toThrow(PhpArrayKeyError);
    expect(() => phpParseStr(Buffer.from('ok=1&a[b.c]=1'))).toThrow(PhpArrayKeyError);
    // A "]" before the "[" does not close it.
    expect(keys('a]b[=1')).toEqual(['a]b_']);
    expect(keys('a][=1')).toEqual(['a]_']);
  });

  it('reads the pairs in order, each "&"-separated, the last one included', () => {
    expect(keys('a=1&b&c=&d=4')).toEqual(['a', 'b', 'c', 'd']);
    expect([...phpParseStr(Buffer.from('a=1&b=2'))].map(([k, v]) => `${k}:${v}`)).toEqual([
      'a:1',
      'b:2',
    ]);
  });

  it('gives keys as raw bytes, one latin1 character each', () => {
    expect(keys('%C3%A9=1')).toEqual(['\u00c3\u00a9']);
  });
});

describe('phpTrim trims each PHP whitespace character on each side', () => {
  it.each([' ', '\t', '\n', '\r', '\0', '\u000b'])('%j', (space) => {
    expect(phpTrim(`${space}a${space}`)).toBe('a');
    expect(phpTrim(`${space}${space}`)).toBe('');
    expect(phpTrim(`a${space}b`)).toBe(`a${space}b`);
  });

  it('trims one side when only that side has spaces', () => {
    expect(phpTrim('a\t ')).toBe('a');
    expect(phpTrim(' \ta')).toBe('a');
  });

  it('keeps other spaces and controls', () => {
    for (const other of ['\u000c', '\u0085', '\u00a0', '\u2028', '\u0001']) {
      expect(phpTrim(`${other}a${other}`)).toBe(`${other}a${other}`);
    }
  });
});

describe('PHP srand/rand details', () => {
  it('uses the seed modulo 2^32, as PHP casts it', () => {
    expect([...mt19937(2 ** 32 + 5489, 3)]).toEqual([...mt19937(5489, 3)]);
  });

  it('matches PHP 8 (mt_srand, then mt_rand: the top 31 bits) through the first 624 outputs', () => {
    // php -r 'mt_srand(5489); for (…) $o[] = mt_rand();' : outputs 1, 2, 100 and 624.
    const out = mt19937(5489, 624);
    expect([out[0]! >>> 1, out[1]! >>> 1, out[99]! >>> 1, out[623]! >>> 1]).toEqual([
      1749605806, 290934651, 1734159672, 2010162943,
    ]);
  });

  it('gives the bytes PHP 8 gives for srand($validUntil) and rand(0, 255)', () => {
    // php -r 'srand(1000000200); for ($i = 0; $i < 16; $i++) echo rand(0, 255), ",";'
    expect([...phpSeededBytes(1_000_000_200, 16)]).toEqual([
      162, 53, 91, 76, 96, 43, 41, 82, 60, 125, 119, 54, 244, 135, 228, 246,
    ]);
    expect([...phpSeededBytes(2_147_483_655, 16)]).toEqual([
      67, 133, 172, 132, 181, 105, 210, 140, 219, 223, 24, 151, 180, 156, 101, 109,
    ]);
  });
});
