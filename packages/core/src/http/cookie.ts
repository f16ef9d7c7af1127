/**
 * The first cookie called `name` in a Cookie header: its value trimmed, unquoted and
 * percent-decoded (undefined when that fails). On the hot path of every signed-in request:
 * it walks the header without splitting it, and decodes only a value with a `%` in it
 * (decodeURIComponent leaves any other string as it is).
 */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const length = cookieHeader.length;
  let start = 0;
  while (start <= length) {
    let end = cookieHeader.indexOf(';', start);
    if (end < 0) end = length;
    const eq = cookieHeader.indexOf('=', start);
    if (eq >= 0 && eq < end && cookieHeader.slice(start, eq).trim() === name) {
      const raw = cookieHeader.slice(eq + 1, end).trim();
      const value = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
      if (!value.includes('%')) return value;
      try {
        return decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
    start = end + 1;
  }
  return undefined;
}
