/**
 * JSON as PHP's `json_encode` writes it (Kaltura's `format=1`, spec §7): `/` escaped as
 * `\/`, every non-ASCII character as `\uXXXX`. Any JSON parser reads it back unchanged.
 */
const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_ALL = /[\u0080-\uffff]/g;

export function phpJson(value: unknown): string {
  const json = JSON.stringify(value === undefined ? null : value);
  // Outside strings JSON has neither "/" nor non-ASCII, so these only touch string contents.
  const escaped = json.replaceAll('/', '\\/');
  return NON_ASCII.test(escaped)
    ? escaped.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : escaped;
}
