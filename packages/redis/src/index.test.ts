import { describe, expect, it } from 'vitest';
import * as redis from './index.js';

describe('@kaltura-ks/redis', () => {
  it('exports what users need, and not the session codec or the key layout', () => {
    expect(Object.keys(redis).sort()).toEqual(['KEY_LAYOUT_VERSION', 'createRedisStore']);
  });
});
