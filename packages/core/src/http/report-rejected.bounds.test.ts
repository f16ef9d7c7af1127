import { describe, expect, it } from 'vitest';
import { MAX_KS_LENGTH } from '../ks/verify.js';
import { REJECTED_KS_HEADER, rejectedKsOf } from './report-rejected.js';

/** How long a reported KS may be, what the header must hold, and what a refusal says. */

const MESSAGE = 'The X-Kaltura-Rejected-Ks header must hold one KS';
const report = (value: unknown) =>
  rejectedKsOf({ headers: { [REJECTED_KS_HEADER]: value } } as never);

describe('the X-Kaltura-Rejected-Ks header', () => {
  it('takes a KS of exactly MAX_KS_LENGTH characters, refuses one more', () => {
    const longest = 'k'.repeat(MAX_KS_LENGTH);
    expect(report(longest)).toBe(longest);
    expect(() => report(`${longest}k`)).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD', message: MESSAGE }),
    );
  });

  it('refuses a list, even of one KS: a header is one string', () => {
    expect(() => report(['djJ8MTAx'])).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD', message: MESSAGE }),
    );
  });

  it('says what is wrong, and nothing of what it held', () => {
    expect(() => report('djJ8 MTAx')).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD', message: MESSAGE }),
    );
  });
});
