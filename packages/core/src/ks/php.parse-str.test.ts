import { describe, expect, it } from 'vitest';
import { phpParseStr } from './php.js';

const pairs = (query: string) =>
  [...phpParseStr(Buffer.from(query, 'latin1'))].map(([k, v]) => `${k}=${v.toString('latin1')}`);

describe('phpParseStr: a pair with an empty name', () => {
  it('is dropped, first in the query as anywhere else (PHP parse_str)', () => {
    expect(pairs('=abc&a=1')).toEqual(['a=1']);
    expect(pairs('a=1&=abc')).toEqual(['a=1']);
    expect(pairs('=&b=2')).toEqual(['b=2']);
  });
});
