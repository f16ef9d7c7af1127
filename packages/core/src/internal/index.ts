/**
 * `@kaltura-ks/core/internal`: helpers the kaltura-ks packages share (one
 * place for each rule). Not an API for users: it may change in any release.
 */
export { type BackoffJitter, backoffDelay } from '../backoff.js';
export { isWidgetSession } from '../ks/widget.js';
export { checkFraction, checkFunction, checkMs, invalidOption } from '../options.js';
