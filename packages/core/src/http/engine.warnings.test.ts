import { describe, expect, it } from 'vitest';
import type { KsMinter } from '../issuer/minter.js';
import { createKsEngine } from './engine.js';

const minter = {
  kind: 'app-token',
  mint: async () => {
    throw new Error('not minted in these tests');
  },
} as unknown as KsMinter;

describe('createKsEngine warns at creation only about what is on', () => {
  it('warns nothing without allowAdminKs, and once with it', () => {
    for (const allowAdminKs of [undefined, false]) {
      const warnings: string[] = [];
      createKsEngine({
        partnerId: 1,
        minter,
        getUser: () => ({ id: 'alice' }),
        ...(allowAdminKs === undefined ? {} : { allowAdminKs }),
        onWarning: (message) => warnings.push(message),
      });
      expect(warnings).toEqual([]);
    }
    const warnings: string[] = [];
    createKsEngine({
      partnerId: 1,
      minter,
      getUser: () => ({ id: 'alice' }),
      allowAdminKs: true,
      onWarning: (message) => warnings.push(message),
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/allowAdminKs is on/);
  });
});
