import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pipelinedLoad } from './pipelined-load.js';

/**
 * A raw HTTP/1.1 server answering every request it reads with `answer`, written in chunks of
 * `chunk` bytes so that status lines fall across the client's reads; counts what it answered.
 */
function rawServer(answer: string, chunk: number) {
  let answered = 0;
  const server = createServer((socket) => {
    // The client may go while answers are still being written (close() after a round, the
    // round a non-200 failed): the write then fails with EPIPE or ECONNRESET, which without a
    // listener is an uncaught exception in the test run (about one round in four).
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      let end = pending.indexOf('\r\n\r\n');
      let out = '';
      while (end >= 0) {
        pending = pending.slice(end + 4);
        out += answer;
        answered++;
        end = pending.indexOf('\r\n\r\n');
      }
      for (let at = 0; at < out.length; at += chunk) socket.write(out.slice(at, at + chunk));
    });
  });
  return {
    server,
    answered: () => answered,
    port: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
      ),
  };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

describe('pipelinedLoad counts every answer, whatever the chunks', () => {
  for (const chunk of [1, 3, 7, 13, 4096]) {
    it(`answers written ${chunk} bytes at a time are each counted once`, async () => {
      const target = rawServer(OK, chunk);
      servers.push(target.server);
      const load = await pipelinedLoad({
        port: await target.port(),
        path: '/x',
        headers: { 'x-user': 'u' },
        connections: 3,
        depth: 4,
      });
      try {
        const counted = await load.run(0.05);
        expect(counted).toBeGreaterThan(0);
        expect(counted).toBe(target.answered());
        // A second round counts from zero, on the same sockets.
        const again = await load.run(0.02);
        expect(again).toBe(target.answered() - counted);
      } finally {
        load.close();
      }
    });
  }

  it('a non-200 answer fails the round', async () => {
    const target = rawServer('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 5);
    servers.push(target.server);
    const load = await pipelinedLoad({
      port: await target.port(),
      path: '/x',
      headers: {},
      connections: 1,
      depth: 2,
    });
    try {
      await expect(load.run(0.02)).rejects.toThrow('non-200');
    } finally {
      load.close();
    }
  });
});
