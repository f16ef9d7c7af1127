import { describe, expect, it } from 'vitest';
import { isWidgetSession } from './widget.js';

describe("isWidgetSession: Kaltura's rule, one copy for the issuer and the emulator", () => {
  it.each([
    ['the anonymous user "0"', { type: 0, userId: '0', privileges: 'view:*,widget:1' }, true],
    ['the empty user', { type: 0, userId: '', privileges: 'widget:1' }, true],
    [
      'widget:1 anywhere (a substring, as Kaltura tests it)',
      { type: 0, userId: '', privileges: 'sview:*,widget:12' },
      true,
    ],
    ['a named user', { type: 0, userId: 'alice', privileges: 'widget:1' }, false],
    ['an ADMIN KS', { type: 2, userId: '0', privileges: 'widget:1' }, false],
    ['no widget privilege', { type: 0, userId: '0', privileges: 'view:*' }, false],
  ])('%s', (_, fields, expected) => {
    expect(isWidgetSession(fields)).toBe(expected);
  });
});
