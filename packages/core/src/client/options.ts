import type { Dispatcher } from 'undici';
import { type Clock, checkClockOffset } from '../clock.js';
import { hasUnsafeText } from '../ks/text.js';
import { checkFunction, invalidOption } from '../options.js';
import type { KalturaClientEvent, KalturaClientOptions } from './types.js';

export const DEFAULTS = {
  clientTag: 'kaltura-ks',
  widgetSessionExpiresInSeconds: 3600,
  maxConnections: 64,
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000, maxTotalMs: 10_000 },
} as const;

export interface ResolvedRetry {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxTotalMs: number;
}

export interface ResolvedOptions {
  /** `https://host:port` */
  origin: string;
  /** `/api_v3` or `/prefix/api_v3` */
  basePath: string;
  serviceUrl: string;
  partnerId: number | undefined;
  ks: string | undefined;
  clientTag: string;
  widgetId: string | undefined;
  widgetSessionExpiresInSeconds: number;
  /** Kaltura's clock minus this one (ms), as known now. */
  kalturaClockOffsetMs: () => number;
  dispatcher: Dispatcher | undefined;
  maxConnections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  requestTimeoutMs: number;
  retry: ResolvedRetry | null;
  now: Clock;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  onEvent: ((event: KalturaClientEvent) => void) | undefined;
  observeCall: KalturaClientOptions['observeCall'];
}

const KNOWN = new Set<string>([
  'serviceUrl',
  'partnerId',
  'ks',
  'clientTag',
  'widgetId',
  'widgetSessionExpiresInSeconds',
  'kalturaClockOffsetMs',
  'dispatcher',
  'maxConnections',
  'connectTimeoutMs',
  'headersTimeoutMs',
  'bodyTimeoutMs',
  'requestTimeoutMs',
  'retry',
  'now',
  'random',
  'sleep',
  'onEvent',
  'observeCall',
]);

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption(`${name} must be a positive integer`);
  }
  return value;
}

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidOption(`${name} must be an integer >= 0`);
  }
  return value;
}

function optionalFunction<T>(value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  return checkFunction<T>(value, name);
}

/** `kalturaClockOffsetMs`: a fixed offset (checked like the issuer's) or a function that tells it. */
function clockOffsetOption(value: unknown): () => number {
  if (typeof value === 'function') return value as () => number;
  const fixed = checkClockOffset(value) ?? 0;
  return () => fixed;
}

/** Checks a KS given as an option: a non-empty string of printable characters. Never echoed. */
export function checkKsOption(value: unknown, name = 'ks'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || hasUnsafeText(value) || /\s/.test(value)) {
    throw invalidOption(`${name} must be a KS (a non-empty string without spaces)`);
  }
  return value;
}

function parseServiceUrl(value: unknown): { origin: string; basePath: string } {
  if (typeof value !== 'string' || value === '') {
    throw invalidOption('serviceUrl must be a URL such as https://www.kaltura.com/api_v3');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption('serviceUrl is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidOption('serviceUrl must be an http: or https: URL');
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in a URL end up in logs; Kaltura does not use them anyway.
    throw invalidOption('serviceUrl must not contain credentials');
  }
  if (url.search !== '' || url.hash !== '') {
    throw invalidOption('serviceUrl must not have a query or a fragment');
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (!/\/api_v3$/i.test(path)) path = `${path}/api_v3`;
  return { origin: url.origin, basePath: path };
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Validates and fills in the options, once, when the client is created. */
export function resolveOptions(options: KalturaClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('createKalturaClient needs an options object with serviceUrl');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw invalidOption(`unknown option ${JSON.stringify(name)}`);
  }
  const { origin, basePath } = parseServiceUrl(options.serviceUrl);

  const { partnerId } = options;
  if (
    partnerId !== undefined &&
    (typeof partnerId !== 'number' || !Number.isSafeInteger(partnerId))
  ) {
    throw invalidOption('partnerId must be an integer');
  }
  const clientTag = options.clientTag ?? DEFAULTS.clientTag;
  if (typeof clientTag !== 'string' || clientTag === '' || hasUnsafeText(clientTag)) {
    throw invalidOption('clientTag must be a non-empty string of printable characters');
  }
  const { widgetId } = options;
  if (widgetId !== undefined && (typeof widgetId !== 'string' || !/^[\w-]+$/.test(widgetId))) {
    throw invalidOption('widgetId must be a widget id such as _12345');
  }
  const { dispatcher } = options;
  if (
    dispatcher !== undefined &&
    (typeof dispatcher !== 'object' ||
      dispatcher === null ||
      typeof (dispatcher as { request?: unknown }).request !== 'function')
  ) {
    throw invalidOption('dispatcher must be an undici Dispatcher (Agent, Pool, MockAgent…)');
  }

  let retry: ResolvedRetry | null;
  if (options.retry === false) {
    retry = null;
  } else if (options.retry === undefined) {
    retry = { ...DEFAULTS.retry };
  } else if (typeof options.retry === 'object' && options.retry !== null) {
    const r = options.retry;
    for (const name of Object.keys(r)) {
      if (!(name in DEFAULTS.retry)) throw invalidOption(`unknown option retry.${name}`);
    }
    retry = {
      maxAttempts: positiveInteger(r.maxAttempts, 'retry.maxAttempts', DEFAULTS.retry.maxAttempts),
      baseDelayMs: nonNegativeInteger(
        r.baseDelayMs,
        'retry.baseDelayMs',
        DEFAULTS.retry.baseDelayMs,
      ),
      maxDelayMs: nonNegativeInteger(r.maxDelayMs, 'retry.maxDelayMs', DEFAULTS.retry.maxDelayMs),
      maxTotalMs: nonNegativeInteger(r.maxTotalMs, 'retry.maxTotalMs', DEFAULTS.retry.maxTotalMs),
    };
  } else {
    throw invalidOption('retry must be an object or false');
  }

  return {
    origin,
    basePath,
    serviceUrl: origin + basePath,
    partnerId,
    ks: checkKsOption(options.ks),
    clientTag,
    widgetId,
    widgetSessionExpiresInSeconds: positiveInteger(
      options.widgetSessionExpiresInSeconds,
      'widgetSessionExpiresInSeconds',
      DEFAULTS.widgetSessionExpiresInSeconds,
    ),
    dispatcher,
    maxConnections: positiveInteger(
      options.maxConnections,
      'maxConnections',
      DEFAULTS.maxConnections,
    ),
    connectTimeoutMs: positiveInteger(
      options.connectTimeoutMs,
      'connectTimeoutMs',
      DEFAULTS.connectTimeoutMs,
    ),
    headersTimeoutMs: positiveInteger(
      options.headersTimeoutMs,
      'headersTimeoutMs',
      DEFAULTS.headersTimeoutMs,
    ),
    bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, 'bodyTimeoutMs', DEFAULTS.bodyTimeoutMs),
    requestTimeoutMs: positiveInteger(
      options.requestTimeoutMs,
      'requestTimeoutMs',
      DEFAULTS.requestTimeoutMs,
    ),
    retry,
    kalturaClockOffsetMs: clockOffsetOption(options.kalturaClockOffsetMs),
    now: optionalFunction<Clock>(options.now, 'now') ?? Date.now,
    random: optionalFunction<() => number>(options.random, 'random') ?? Math.random,
    sleep: optionalFunction(options.sleep, 'sleep') ?? defaultSleep,
    onEvent: optionalFunction(options.onEvent, 'onEvent'),
    observeCall: optionalFunction(options.observeCall, 'observeCall'),
  };
}
