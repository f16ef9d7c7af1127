import { describe, expect, it } from 'vitest';
import { decodeKsBase64 } from './base64.js';
import {
  mt19937,
  PhpArrayKeyError,
  phpParseStr,
  phpSeededBytes,
  phpTrim,
  phpUrlencode,
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
