import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KsError } from '@kaltura-ks/core';
import { invalidOption } from '@kaltura-ks/core/internal';
import { errorBody } from './errors.js';
import { send } from './json.js';
import { mulberry32 } from './random.js';

/** How a faulty answer fails. */
export const FaultMode = {
  /** Answer an HTTP error status (`status`, default 500) with a non-Kaltura body. */
  HTTP_ERROR: 'http-5xx',
  /** Answer a Kaltura API error (`code`, default INTERNAL_SERVERL_ERROR) with HTTP 200, as Kaltura does. */
  KALTURA_ERROR: 'kaltura-error',
  /** Wait `latencyMs` (default 1000), then answer normally. */
  DELAY: 'delay',
  /** Never answer (until the client gives up or the emulator closes). */
  HANG: 'hang',
  /** Drop the connection without an answer. */
  RESET: 'reset',
  /** Answer HTTP 200 `application/json` with a body that is not JSON. */
  MALFORMED: 'malformed',
} as const;
export type FaultMode = (typeof FaultMode)[keyof typeof FaultMode];

const MODES: readonly string[] = Object.values(FaultMode);

export interface FaultRule {
  /** Only requests to this service (case-insensitive, e.g. `appToken`); all when absent. `multirequest` targets multirequests. */
  service?: string;
  /** Only this action (case-insensitive); all when absent. */
  action?: string;
  mode: FaultMode;
  /** Share of matching requests that fail, 0–1. Default 1. */
  rate?: number;
  /** `http-5xx`: the status, 400–599. Default 500. */
  status?: number;
  /** `http-5xx`: sends `Retry-After` with this many seconds. */
  retryAfterSeconds?: number;
  /** `kaltura-error`: the Kaltura error code. Default `INTERNAL_SERVERL_ERROR`. */
  code?: string;
  /** `kaltura-error`: values for the code's arguments, in order (missing ones read `N/A`). */
  args?: string[];
  /** `delay`: milliseconds to wait. Default 1000. */
  latencyMs?: number;
  /** Seeds this rule's own random sequence for `rate`, so runs repeat exactly. */
  seed?: number;
}

/** The fault controls of a running emulator (also over HTTP at `/__emulator/faults`). */
export interface FaultControls {
  /** Adds a rule, replacing any rule with the same service and action. */
  set(rule: FaultRule): void;
  /** Removes every rule. */
  clear(): void;
  /** The rules in force. */
  list(): FaultRule[];
}

function invalid(message: string): KsError {
  return invalidOption(`fault ${message}`);
}

function optionalName(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > 100)
    throw invalid(`${name} must be a non-empty string`);
  return value;
}

function optionalInt(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Validates a rule (from code or from JSON over HTTP) and returns a clean copy. */
export function checkFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('must be an object');
  const raw = input as Record<string, unknown>;
  if (typeof raw.mode !== 'string' || !MODES.includes(raw.mode)) {
    throw invalid(`mode must be one of ${MODES.join(', ')}`);
  }
  const rule: FaultRule = { mode: raw.mode as FaultMode };
  const service = optionalName(raw.service, 'service');
  const action = optionalName(raw.action, 'action');
  if (service !== undefined) rule.service = service;
  if (action !== undefined) rule.action = action;
  if (raw.rate !== undefined) {
    if (typeof raw.rate !== 'number' || !(raw.rate >= 0 && raw.rate <= 1))
      throw invalid('rate must be a number from 0 to 1');
    rule.rate = raw.rate;
  }
  const status = optionalInt(raw.status, 'status', 400, 599);
  if (status !== undefined) rule.status = status;
  const retryAfter = optionalInt(raw.retryAfterSeconds, 'retryAfterSeconds', 0, 86_400);
  if (retryAfter !== undefined) rule.retryAfterSeconds = retryAfter;
  const code = optionalName(raw.code, 'code');
  if (code !== undefined) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(code))
      throw invalid('code must look like a Kaltura error code (A-Z, 0-9, _)');
    rule.code = code;
  }
  if (raw.args !== undefined) {
    if (!Array.isArray(raw.args) || raw.args.some((a) => typeof a !== 'string'))
      throw invalid('args must be strings');
    rule.args = [...(raw.args as string[])];
  }
  const latency = optionalInt(raw.latencyMs, 'latencyMs', 0, 600_000);
  if (latency !== undefined) rule.latencyMs = latency;
  const seed = optionalInt(raw.seed, 'seed', 0, 2 ** 32 - 1);
  if (seed !== undefined) rule.seed = seed;
  return rule;
}

interface ActiveRule {
  rule: FaultRule;
  service: string | undefined;
  action: string | undefined;
  random: () => number;
}

/** The rules, the most specific first: service and action, then service, then action, then all. */
export class Faults implements FaultControls {
  #rules: ActiveRule[] = [];
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  set(input: FaultRule): void {
    const rule = checkFaultRule(input);
    const service = rule.service?.toLowerCase();
    const action = rule.action?.toLowerCase();
    const rules = this.#rules.filter((r) => r.service !== service || r.action !== action);
    rules.push({
      rule,
      service,
      action,
      random: rule.seed === undefined ? this.#random : mulberry32(rule.seed),
    });
    const specificity = (r: ActiveRule) =>
      (r.service === undefined ? 0 : 2) + (r.action === undefined ? 0 : 1);
    this.#rules = rules.sort((a, b) => specificity(b) - specificity(a));
  }

  clear(): void {
    this.#rules = [];
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r.rule }));
  }

  /** The fault for this request, if any: the most specific matching rule decides, by its rate. */
  pick(service: string, action: string): FaultRule | undefined {
    if (this.#rules.length === 0) return undefined;
    for (const r of this.#rules) {
      if (
        (r.service === undefined || r.service === service) &&
        (r.action === undefined || r.action === action)
      ) {
        const rate = r.rule.rate ?? 1;
        return rate >= 1 || r.random() < rate ? r.rule : undefined;
      }
    }
    return undefined;
  }
}

/** Plays a fault; false when the request should then be answered normally (a delay). */
export async function applyFault(
  fault: FaultRule,
  request: IncomingMessage,
  response: ServerResponse,
  /** Aborted when the emulator closes: ends a delay early. */
  closing: AbortSignal,
): Promise<boolean> {
  switch (fault.mode) {
    case FaultMode.HTTP_ERROR: {
      const status = fault.status ?? 500;
      response.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        ...(fault.retryAfterSeconds === undefined
          ? {}
          : { 'Retry-After': String(fault.retryAfterSeconds) }),
      });
      response.end(`Emulated HTTP ${status}\n`);
      return true;
    }
    case FaultMode.KALTURA_ERROR:
      send(response, 200, errorBody(fault.code ?? 'INTERNAL_SERVERL_ERROR', ...(fault.args ?? [])));
      return true;
    case FaultMode.DELAY:
      try {
        await sleep(fault.latencyMs ?? 1000, undefined, { signal: closing });
      } catch {
        response.destroy();
        return true;
      }
      return false;
    case FaultMode.HANG:
      // Nothing is written; close() destroys the socket.
      return true;
    case FaultMode.RESET:
      if (typeof request.socket.resetAndDestroy === 'function') request.socket.resetAndDestroy();
      else request.socket.destroy();
      return true;
    case FaultMode.MALFORMED:
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end('{"objectType":"KalturaSessionInfo","ks":');
      return true;
  }
}
