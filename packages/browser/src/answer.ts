// What the client believes of the KS route's answer: its shape.
import type { KsRouteBody } from './client.js';

/** The fields of an answer the client relies on, checked before it is believed. */
export const isSession = (b: KsRouteBody | undefined): b is KsRouteBody =>
  typeof b?.ks === 'string' &&
  !!b.ks &&
  typeof b.privileges === 'string' &&
  typeof b.userId === 'string' &&
  [0, 2].includes(b.type) &&
  Number.isFinite(b.partnerId) &&
  Number.isFinite(b.serverTime) &&
  Number.isFinite(b.expiresAt) &&
  b.expiresAt > b.serverTime;
