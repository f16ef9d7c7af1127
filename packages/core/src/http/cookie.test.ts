import { describe, expect, it } from 'vitest';
import { cookieValue } from './cookie.js';

/** The reading jwtUser had before the one-pass walk: what cookieValue must keep answering. */
function splitReading(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

describe('cookieValue', () => {
  it('reads the first cookie of that name, trimmed, unquoted and decoded', () => {
    expect(cookieValue('a=1; session=tok; session=two', 'session')).toBe('tok');
    expect(cookieValue(' session = "tok" ', 'session')).toBe('tok');
    expect(cookieValue('session=a%2Eb', 'session')).toBe('a.b');
    expect(cookieValue('session=%E0%A4%A', 'session')).toBeUndefined();
    expect(cookieValue('sessions=x; xsession=y', 'session')).toBeUndefined();
    expect(cookieValue('session', 'session')).toBeUndefined();
    expect(cookieValue(undefined, 'session')).toBeUndefined();
  });

  it('answers what splitting the header answers, for every header made of these pieces', () => {
    const pieces = [
      'session',
      ' session ',
      'other',
      '=',
      ';',
      ' ',
      '"',
      '%41',
      '%E0%A4%A',
      'a=b',
      '%',
    ];
    let headers = [''];
    let checked = 0;
    const differing: string[] = [];
    for (let length = 1; length <= 5; length++) {
      headers = headers.flatMap((h) => pieces.map((p) => h + p));
      for (const header of headers) {
        if (cookieValue(header, 'session') !== splitReading(header, 'session'))
          differing.push(header);
        checked++;
      }
    }
    expect(differing).toEqual([]);
    expect(checked).toBeGreaterThan(160_000);
  });
});
