import { describe, expect, it } from 'vitest';
import { MAX_KS_LENGTH } from '../ks/verify.js';
import { REJECTED_KS_HEADER, rejectedKsOf } from './report-rejected.js';

describe('rejectedKsOf', () => {
  it('reads a KS in either base64 alphabet, or nothing', () => {
    expect(rejectedKsOf({ headers: {} })).toBeUndefined();
    for (const ks of ['djJ8MTIzNDV8abc-_=', 'NjUyMmNj+/==']) {
      expect(rejectedKsOf({ headers: { [REJECTED_KS_HEADER]: ks } })).toBe(ks);
    }
  });

  it('reads a Fetch Headers as a Node record; two headers there are one joined value, refused', () => {
    const headers = new Headers({ [REJECTED_KS_HEADER]: 'djJ8MTAx' });
    expect(rejectedKsOf({ headers })).toBe('djJ8MTAx');
    expect(rejectedKsOf({ headers: new Headers() })).toBeUndefined();
    headers.append(REJECTED_KS_HEADER, 'djJ8MTAy');
    expect(() => rejectedKsOf({ headers })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
    );
  });

  it.each<[string, string | string[]]>([
    ['empty', ''],
    ['two headers', ['djJ8MTAx', 'djJ8MTAy']],
    ['not base64', 'ks=djJ8; drop'],
    ['longer than any KS', 'k'.repeat(MAX_KS_LENGTH + 1)],
  ])('refuses %s with ERR_KS_INVALID_FIELD, without repeating it', (_, value) => {
    let error: unknown;
    try {
      rejectedKsOf({ headers: { [REJECTED_KS_HEADER]: value } });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
    expect((error as Error).message).not.toContain('djJ8');
  });
});
