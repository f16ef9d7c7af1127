import { type Emulator, type EmulatorOptions, startEmulator } from '../server.js';

export const PARTNER_ID = 4242;
export const ADMIN_SECRET = 'emu-admin-secret-0123456789abcdef';
export const USER_SECRET = 'emu-user-secret-0123456789abcdef';
export const OTHER_PARTNER_ID = 5151;
export const OTHER_ADMIN_SECRET = 'other-admin-secret-0123456789abc';
/** Never start a fake clock at 0 (house style); this is 2023-11-14. */
export const START_MS = 1_700_000_000_000;

/** A clock tests can move; `now()` is what the emulator reads. */
export function testClock(startMs = START_MS) {
  let current = startMs;
  return {
    now: () => current,
    set: (ms: number) => {
      current = ms;
    },
    advanceSeconds: (seconds: number) => {
      current += seconds * 1000;
    },
    seconds: () => Math.floor(current / 1000),
  };
}

export function testOptions(overrides: EmulatorOptions = {}): EmulatorOptions {
  return {
    partners: [
      { id: PARTNER_ID, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET },
      { id: OTHER_PARTNER_ID, adminSecret: OTHER_ADMIN_SECRET, userSecret: 'other-user-secret' },
    ],
    users: [
      {
        partnerId: PARTNER_ID,
        loginId: 'alice@example.com',
        password: 'alice-pw-123',
        userId: 'alice',
      },
      {
        partnerId: PARTNER_ID,
        loginId: 'root@example.com',
        password: 'root-pw-123',
        userId: 'root',
        isAdmin: true,
      },
    ],
    ...overrides,
  };
}

export type Fields = Record<string, string | number | undefined>;

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

async function answer(response: Response): Promise<ApiAnswer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

function form(fields: Fields): URLSearchParams {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined) body.append(key, String(value));
  return body;
}

/** POST a form, like Kaltura's curl examples: `/service/{service}/action/{action}`, `format=1`. */
export async function call(
  emulator: Emulator,
  service: string,
  action: string,
  fields: Fields = {},
): Promise<ApiAnswer> {
  const response = await fetch(`${emulator.url}/service/${service}/action/${action}`, {
    method: 'POST',
    body: form({ format: 1, ...fields }),
  });
  return answer(response);
}

export async function callJson(
  emulator: Emulator,
  path: string,
  body: unknown,
): Promise<ApiAnswer> {
  const response = await fetch(`${emulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return answer(response);
}

export async function raw(url: string, init?: RequestInit): Promise<ApiAnswer> {
  return answer(await fetch(url, init));
}

/** The result of a call that must succeed. */
export async function ok(emulator: Emulator, service: string, action: string, fields: Fields = {}) {
  const result = await call(emulator, service, action, fields);
  if (
    result.status !== 200 ||
    (result.json && typeof result.json === 'object' && 'code' in result.json)
  ) {
    throw new Error(`${service}.${action} failed: ${result.text}`);
  }
  return result.json;
}

export async function adminKs(emulator: Emulator, fields: Fields = {}): Promise<string> {
  return ok(emulator, 'session', 'start', {
    secret: ADMIN_SECRET,
    partnerId: PARTNER_ID,
    type: 2,
    ...fields,
  });
}

export async function userKs(emulator: Emulator, fields: Fields = {}): Promise<string> {
  return ok(emulator, 'session', 'start', {
    secret: USER_SECRET,
    partnerId: PARTNER_ID,
    type: 0,
    ...fields,
  });
}

export async function widgetKs(emulator: Emulator, partnerId = PARTNER_ID): Promise<string> {
  return (await ok(emulator, 'session', 'startWidgetSession', { widgetId: `_${partnerId}` })).ks;
}

export { startEmulator };
