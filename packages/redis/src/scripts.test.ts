import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CommandSender, READ, runScript } from './scripts.js';

/** How a script reaches Redis: by its SHA1, and by its source once Redis does not know it. */

function sender(answers: ((args: readonly string[]) => unknown)[]): CommandSender & {
  sent: (readonly string[])[];
} {
  const sent: (readonly string[])[] = [];
  return {
    sent,
    async sendCommand(args) {
      sent.push(args);
      return answers[sent.length - 1]!(args);
    },
  };
}

describe('runScript', () => {
  it('sends EVALSHA with the key count, the keys and the arguments', async () => {
    const redis = sender([() => 'ok']);
    expect(await runScript(redis, READ, ['k1', 'k2'], ['a'])).toBe('ok');
    expect(redis.sent).toEqual([['EVALSHA', READ.sha1, '2', 'k1', 'k2', 'a']]);
    expect(READ.sha1).toBe(createHash('sha1').update(READ.source).digest('hex'));
  });

  it('falls back to EVAL once when Redis does not know the script (NOSCRIPT)', async () => {
    const redis = sender([
      () => {
        throw new Error('NOSCRIPT No matching script. Please use EVAL.');
      },
      () => 'ok',
    ]);
    expect(await runScript(redis, READ, ['k'], [])).toBe('ok');
    expect(redis.sent).toEqual([
      ['EVALSHA', READ.sha1, '1', 'k'],
      ['EVAL', READ.source, '1', 'k'],
    ]);
  });

  it('passes any other failure on, without trying EVAL', async () => {
    for (const failure of [
      new Error('READONLY You cannot write'),
      new Error('ERR NOSCRIPT later'),
      'NOSCRIPT',
    ]) {
      const redis = sender([
        () => {
          throw failure;
        },
      ]);
      await expect(runScript(redis, READ, ['k'], [])).rejects.toBe(failure);
      expect(redis.sent).toHaveLength(1);
    }
  });
});
