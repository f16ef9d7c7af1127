import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted Kaltura stand-in on loopback for the client's tests: real sockets, real HTTP,
 * one server per test file (`reset()` between tests).
 * Routes answer per `service.action` with JSON, raw text, a status, a delay, a reset
 * socket, a hang or a stalled body; every request is recorded.
 */

export interface RecordedRequest {
  method: string;
  /** The request target as sent (path + query). */
  url: string;
  service: string;
  /** `''` for multirequest. */
  action: string;
  headers: IncomingHttpHeaders;
  body: string;
  params: URLSearchParams;
  /** The client's port: the same for requests over one kept-alive connection. */
  remotePort: number;
}

export type Reply =
  | { json: unknown; status?: number; headers?: Record<string, string>; delayMs?: number }
  | { raw: string; status?: number; headers?: Record<string, string>; delayMs?: number }
  /** Destroys the socket without answering (the client sees a reset / "other side closed"). */
  | { reset: true }
  /** Never answers (until the server closes). */
  | { hang: true }
  /** Sends headers and the start of a body, then stalls. */
  | { stallBody: string };

export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>;

export interface TestServer {
  /** `http://127.0.0.1:<port>/api_v3` */
  url: string;
  requests: RecordedRequest[];
  /** Answers `service.action` (action `''` for multirequest). A list is replayed in order, its last reply repeating. */
  route(service: string, action: string, answer: Handler | Reply | Reply[]): void;
  count(service: string, action: string): number;
  /**
   * Forgets every route and recorded request and drops every connection: a test file starts
   * the server once and resets it after each test.
   */
  reset(): void;
  close(): Promise<void>;
}

const PATH = /^\/api_v3\/service\/([^/]+)(?:\/action\/([^/?]+))?\/?$/;

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.url ?? '';
      const match = PATH.exec(target.split('?')[0] ?? '');
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: target,
        service: match?.[1] ?? '',
        action: match?.[2] ?? '',
        headers: req.headers,
        body,
        params: new URLSearchParams(body),
        remotePort: req.socket.remotePort ?? 0,
      };
      requests.push(recorded);
      const handler = routes.get(`${recorded.service}.${recorded.action}`);
      if (!handler) {
        send(res, { raw: 'no route', status: 404 });
        return;
      }
      Promise.resolve(handler(recorded)).then(
        (reply) => {
          if ('reset' in reply) {
            req.socket.destroy();
          } else if ('hang' in reply) {
            // Leave it open.
          } else if ('stallBody' in reply) {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
            res.write(reply.stallBody);
          } else if (reply.delayMs) {
            setTimeout(() => send(res, reply), reply.delayMs);
          } else {
            send(res, reply);
          }
        },
        () => req.socket.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api_v3`,
    requests,
    route(service, action, answer) {
      if (typeof answer === 'function') {
        routes.set(`${service}.${action}`, answer);
      } else if (Array.isArray(answer)) {
        let i = 0;
        routes.set(`${service}.${action}`, () => {
          const reply = answer[Math.min(i, answer.length - 1)] as Reply;
          i++;
          return reply;
        });
      } else {
        routes.set(`${service}.${action}`, () => answer);
      }
    },
    count(service, action) {
      return requests.filter((r) => r.service === service && r.action === action).length;
    },
    reset() {
      routes.clear();
      requests.length = 0;
      server.closeAllConnections();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function send(
  res: ServerResponse,
  reply: { json?: unknown; raw?: string; status?: number; headers?: Record<string, string> },
): void {
  if (res.destroyed) return;
  const text = 'raw' in reply && reply.raw !== undefined ? reply.raw : JSON.stringify(reply.json);
  res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
  res.end(text);
}

/** Kaltura's API error body (spec §7): HTTP 200, `args` is `[]` when there are none. */
export function kalturaError(
  code: string,
  message: string,
  args: Record<string, string> | [] = [],
): Reply {
  return { json: { code, message, objectType: 'KalturaAPIException', args } };
}

/** A port on loopback where nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A clock and a sleep that advances it: backoff without real waiting. */
export function fakeTime(start = 1_700_000_000_000): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  advance: (ms: number) => void;
  slept: number[];
} {
  let current = start;
  const slept: number[] = [];
  return {
    now: () => current,
    sleep: async (ms) => {
      slept.push(ms);
      current += ms;
    },
    advance: (ms) => {
      current += ms;
    },
    slept,
  };
}
