import { connect, type Socket } from 'node:net';

/**
 * A load generator that costs the client almost nothing per request, so that the server
 * under test stays saturated even when the client's core is shared: `connections` keep-alive
 * sockets, each with `depth` identical GET requests in flight (HTTP/1.1 pipelining), the
 * requests pre-encoded once, the answers counted by their status line (never parsed further).
 *
 * Why not autocannon for CPU per request: it parses every answer in JavaScript, and on one
 * core it could not keep a bare Koa app busy (a profile showed the server 56% idle); when the
 * shared machine slows it further, the
 * server idles between requests and pays an event-loop wake-up (epoll, a read) per request
 * instead of per batch. The server's CPU per request then follows the client's luck: on a
 * loaded machine the bare app read 16.5–119 µs, and single rounds of the control and the
 * route 0.21–3.39× of it.
 */
export interface PipelinedLoad {
  /** Sends for `seconds`, then waits for every answer; resolves with how many came back. */
  run(seconds: number): Promise<number>;
  close(): void;
}

const STATUS_LINE = Buffer.from('HTTP/1.1 ');
const OK = Buffer.from('HTTP/1.1 200 ');

export async function pipelinedLoad({
  port,
  path,
  headers,
  connections,
  depth,
}: {
  port: number;
  path: string;
  headers: Record<string, string>;
  connections: number;
  depth: number;
}): Promise<PipelinedLoad> {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  const one = Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${lines.join('')}\r\n`,
  );
  const batch = Buffer.concat(Array.from({ length: depth }, () => one));
  const sockets: Socket[] = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  let sending = false;
  let answered = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let drained: (() => void) | undefined;
  for (const socket of sockets) {
    // The end of the last chunk, when it may hold the start of a status line.
    let tail: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const seen = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
      let count = 0;
      let from = 0;
      for (let at = seen.indexOf(STATUS_LINE); at >= 0; at = seen.indexOf(STATUS_LINE, from)) {
        // Counted once its status code is here too.
        if (at + OK.length > seen.length) break;
        if (seen.compare(OK, 0, OK.length, at, at + OK.length) !== 0)
          failure ??= new Error(`a non-200 answer: ${seen.toString('latin1', at, at + 12)}`);
        count++;
        from = at + OK.length;
      }
      tail = seen.subarray(Math.max(from, seen.length - (OK.length - 1)));
      answered += count;
      inFlight -= count;
      if (sending && count > 0) {
        socket.write(count === depth ? batch : batch.subarray(0, count * one.length));
        inFlight += count;
      } else if (!sending && inFlight === 0) drained?.();
    });
    socket.on('error', (error) => {
      failure ??= error;
      drained?.();
    });
  }
  return {
    async run(seconds) {
      answered = 0;
      sending = true;
      for (const socket of sockets) {
        socket.write(batch);
        inFlight += depth;
      }
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      sending = false;
      await new Promise<void>((resolve) => {
        drained = resolve;
        if (inFlight === 0 || failure) resolve();
      });
      drained = undefined;
      if (failure) throw failure;
      return answered;
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
