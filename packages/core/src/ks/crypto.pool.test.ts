import { describe, expect, it } from 'vitest';
import { fillSecureRandom, secureRandomUint32 } from './crypto.js';

describe('secureRandomUint32 beside fillSecureRandom', () => {
  it('a random integer is made of bytes nobody had before, not of the bytes handed out just before it', () => {
    // Each of the 4 bytes of the integer against each of the 4 bytes taken just before: by
    // chance equal 16 times in 256 draws (about 125 here); a byte taken twice, every time.
    const draws = 2000;
    let equal = 0;
    const before = Buffer.alloc(4);
    for (let i = 0; i < draws; i++) {
      fillSecureRandom(before, 0, 4);
      const value = secureRandomUint32();
      for (let k = 0; k < 4; k++) {
        const byte = (value >>> (8 * k)) & 0xff;
        for (const b of before) if (b === byte) equal++;
      }
    }
    expect(equal).toBeLessThan(draws / 4);
  });
});
