import { describe, expect, it } from 'vitest';
import { redisKeyLayout } from './keys.js';

/**
 * The fleet's channels, named after the prefix and the layout version: every instance of a
 * fleet must hear the others, and a fleet on another prefix or layout must not. Each layout is
 * made inside its test (not when the file is collected), so what it names is this test's.
 */
describe('the pub/sub channels of a key layout', () => {
  it('are {prefix}v2:revoke and {prefix}v2:minted, two distinct channels', () => {
    const layout = redisKeyLayout('fleet-a:');
    expect(layout.revokeChannel).toBe('fleet-a:v2:revoke');
    expect(layout.mintedChannel).toBe('fleet-a:v2:minted');
  });

  it('differ between prefixes', () => {
    const a = redisKeyLayout('a:');
    const b = redisKeyLayout('b:');
    expect(a.revokeChannel).not.toBe(b.revokeChannel);
    expect(a.mintedChannel).not.toBe(b.mintedChannel);
  });
});
