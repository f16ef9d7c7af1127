import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KS_ERROR_CODES } from './errors.js';

describe('documentation', () => {
  it('the README error table lists exactly the error codes', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| `(ERR_KS_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...KS_ERROR_CODES]);
  });
});
