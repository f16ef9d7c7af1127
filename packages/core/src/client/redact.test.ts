import { describe, expect, it } from 'vitest';
import {
  SPEC_APP_TOKEN,
  SPEC_SECRET,
  SPEC_V1,
  SPEC_V2,
  SPEC_WIDGET_KS,
} from '../test-utils/vectors.js';
import { REDACTED, redact, redactRecord } from './redact.js';

describe('redact', () => {
  it('removes every given secret, longest first', () => {
    expect(redact('pw=hunter2 and again hunter2', ['hunter2'])).toBe(
      `pw=${REDACTED} and again ${REDACTED}`,
    );
    expect(redact('abc-abcdef', ['abc', 'abcdef'])).toBe(`${REDACTED}-${REDACTED}`);
    expect(redact('nothing here', ['', 'absent'])).toBe('nothing here');
  });

  it('removes the URL-encoded form of a secret', () => {
    expect(redact('ks=a%2Bb%2Fc%3D', ['a+b/c='])).toBe(`ks=${REDACTED}`);
  });

  it('removes KS-like strings it was not told about (v1, v2, url-safe, widget)', () => {
    for (const ks of [SPEC_V1.ks, SPEC_V2.ks, SPEC_WIDGET_KS]) {
      const out = redact(`Invalid KS "${ks}", Error "-1,INVALID_STR"`, []);
      expect(out).toBe(`Invalid KS "${REDACTED}", Error "-1,INVALID_STR"`);
    }
  });

  it('removes hex credentials (secrets, token values, token hashes)', () => {
    for (const hex of [
      SPEC_SECRET,
      SPEC_APP_TOKEN.value,
      SPEC_APP_TOKEN.sha1,
      SPEC_APP_TOKEN.sha256,
    ]) {
      expect(redact(`value ${hex}.`, [])).toBe(`value ${REDACTED}.`);
    }
  });

  it('keeps what is not a credential', () => {
    const text =
      'Application token id "0_ab12cd34" not found; partner [12345]; Invalid KS "EXPIRED"; ' +
      'value in field [sessionUserId] is not valid; entry 1_abcdefgh; kaltura_api_v3_service_session_action';
    expect(redact(text, [])).toBe(text);
  });

  it('applies to every value of a record, keeping the names', () => {
    expect(redactRecord({ KSID: SPEC_WIDGET_KS, ERR_CODE: '-1' }, [])).toEqual({
      KSID: REDACTED,
      ERR_CODE: '-1',
    });
  });
});
