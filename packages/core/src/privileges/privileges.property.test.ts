import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { hasUnsafeText } from '../ks/text.js';
import { KsType, type KsVersion } from '../ks/types.js';
import { verifyKs } from '../ks/verify.js';
import {
  buildPrivileges,
  formatPrivileges,
  MAX_PRIVILEGES_LENGTH,
  normalizePrivileges,
  type PrivilegesInput,
  parsePrivileges,
  validatePrivilegesString,
} from './privileges.js';

/**
 * Fuzzing the privileges parser and validator (spec §5–§6) with fast-check: parsing never
 * throws; validation throws only `KsError`s; and whatever validation accepts goes into a KS
 * without moving a field — for KS v1, whose fields are split on `;` with no escaping, the
 * privileges read back are byte for byte what was given and the user id is untouched.
 */

const NOW_MS = 1_700_000_000_000;
const now = () => NOW_MS;
const SECRET = 'privileges-property-secret';
const NAME = /^[A-Za-z0-9-][A-Za-z0-9_-]*$/;

/** Pieces of the grammar and of the characters that matter, glued at random. */
const grammarish = fc
  .array(
    fc.constantFrom(
      'a',
      'edit',
      'sview',
      'setrole',
      '*',
      '_u',
      '_e',
      '0',
      ':',
      '/',
      ',',
      ';',
      ' ',
      '\t',
      '\n',
      '\u0000',
      'é',
      '\ud800',
      '-',
      '=',
      '&',
      '+',
      '%2C',
      '.',
      '[',
      ']',
      '0_abc',
      'x:y/z',
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));
const anyText = fc.oneof(
  grammarish,
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const version = fc.constantFrom(1 as const, 2 as const);

/** Records in the structured form, valid or not. */
const recordInput = fc.dictionary(
  fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), anyText),
  fc.oneof(
    anyText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(anyText, fc.integer()), { maxLength: 3 }),
  ),
  { maxKeys: 5 },
);

function accepted(input: PrivilegesInput, v: KsVersion): string | undefined {
  try {
    return formatPrivileges(input, v);
  } catch (error) {
    if (!(error instanceof KsError)) throw error;
    expect(['ERR_KS_INVALID_FIELD', 'ERR_KS_INVALID_OPTION']).toContain(error.code);
    return undefined;
  }
}

describe('privileges, fuzzed', () => {
  it('parsePrivileges never throws, and v1 parse → build → parse is a fixed point', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        parsePrivileges(text, { version: 2 });
        const parsed = parsePrivileges(text);
        expect(parsePrivileges(buildPrivileges(parsed))).toEqual(parsed);
      }),
      { numRuns: 5_000 },
    );
  });

  it('validation throws only KsError; what it accepts has no separator, control character or bad name', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, recordInput), version, (input, v) => {
        const result = accepted(input, v);
        if (result === undefined) return;
        expect(result.length).toBeLessThanOrEqual(MAX_PRIVILEGES_LENGTH);
        expect(result).not.toContain(';');
        expect(hasUnsafeText(result)).toBe(false);
        for (const name of parsePrivileges(result, { version: v }).keys()) {
          if (name === '' || name === '*' || (v === 2 && name === 'all')) continue;
          expect(name).toMatch(NAME);
        }
        // Validation returns a string unchanged, and accepts its own output.
        if (typeof input === 'string') expect(result).toBe(input);
        expect(validatePrivilegesString(result, v)).toBe(result);
      }),
      { numRuns: 5_000 },
    );
  });

  it('whatever validation accepts goes into a KS without moving a field (both versions)', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, recordInput), version, (input, v) => {
        const privileges = accepted(input, v);
        if (privileges === undefined) return;
        const ks = createKs({
          secret: SECRET,
          partnerId: 4321,
          userId: 'victim',
          type: KsType.USER,
          privileges,
          expiresInSeconds: 600,
          version: v,
          now,
        });
        const fields = verifyKs(ks, { secrets: SECRET, partnerId: 4321, now });
        expect(fields.userId).toBe('victim');
        expect(fields.type).toBe(KsType.USER);
        expect(fields.validUntil).toBe(NOW_MS / 1000 + 600);
        expect(fields.masterPartnerId).toBeUndefined();
        if (v === 1) {
          expect(fields.additionalData).toBeUndefined();
          expect(fields.privileges).toBe(privileges);
        } else {
          // v2 keeps Kaltura's reading of the string (trimmed, last value wins, `*` as all).
          expect(parsePrivileges(fields.privileges, { version: 2 })).toEqual(
            parsePrivileges(privileges, { version: 2 }),
          );
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('normalizePrivileges is idempotent and ignores the order of distinct names', () => {
    const item = fc.tuple(
      fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
      fc.array(fc.stringMatching(/^[A-Za-z0-9_*.@-]{1,6}$/), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(item, { selector: ([name]) => name, maxLength: 6 }),
        version,
        (items, v) => {
          const text = items.map(([n, values]) => (values.length ? `${n}:${values.join('/')}` : n));
          const normal = normalizePrivileges(text.join(','), v);
          expect(normalizePrivileges(normal, v)).toBe(normal);
          expect(normalizePrivileges([...text].reverse().join(','), v)).toBe(normal);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('the structured form reads back as the same names and values (v1)', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9_*.@-]{1,8}$/);
    const record = fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/),
      fc.oneof(
        fc.constant(true),
        value,
        fc.nat(),
        fc.array(fc.oneof(value, fc.nat()), { minLength: 1, maxLength: 3 }),
      ),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(record, (input) => {
        const text = formatPrivileges(input, 1);
        const parsed = text === '' ? new Map() : parsePrivileges(text);
        const expected = new Map(
          Object.entries(input).map(([name, v]): [string, string[]] => [
            name,
            v === true ? [] : Array.isArray(v) ? v.map(String) : String(v).split('/'),
          ]),
        );
        expect(parsed).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
