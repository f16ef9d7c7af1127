import { version } from 'react';
import { version as domVersion } from 'react-dom';
import { expect, inject, it } from 'vitest';

declare module 'vitest' {
  interface ProvidedContext {
    /** The React major version the test project runs on (vitest.config.ts). */
    reactMajor: string;
  }
}

it('runs on the React its test project names (19, and 18 in the react18 project)', () => {
  expect(version.split('.')[0]).toBe(inject('reactMajor'));
  expect(domVersion).toBe(version);
});
