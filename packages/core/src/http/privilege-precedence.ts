/** The name of a privilege item (`name` or `name:value`). */
function nameOf(item: string): string {
  const colon = item.indexOf(':');
  return colon < 0 ? item : item.slice(0, colon);
}

/**
 * Kaltura finds a privilege by substring (`ks::verifyPrivileges` looks for `sview:*` anywhere
 * in the string): to it `xsview:*` is `sview:*`, and `sviewplaylist:0_pl` is `list:0_pl`.
 */
function endsInTaken(name: string, taken: ReadonlySet<string>): boolean {
  for (const earlier of taken) {
    if (name.length > earlier.length && name.endsWith(earlier)) return true;
  }
  return false;
}

/**
 * Joins the privileges of a KS from its sources, most authoritative first — the
 * configuration, then the user's own (a JWT claim, say), then those a call adds — so that
 * the first source to name a privilege decides it: a later one may add names, never set
 * one again. Each source is a privileges string already valid for a KS v1. `trailing` (the
 * `appid` privilege) outranks every source and comes last.
 *
 * Refusing a repeated name instead would turn a claim that repeats a configured privilege
 * into a 400 the user cannot fix; letting it through would loosen the configured value —
 * in a KS v2 the last value wins (`sview:*` over `sview:1_entry`), and a KS v1 merges them
 * (`sview:1_entry/*`). So per-user privileges can narrow a KS only by adding restrictions
 * the configuration does not set, never by changing one it does — nor by a name that ends
 * in one it sets, which Kaltura's substring test reads as that privilege.
 */
export function joinByPrecedence(
  sources: readonly (string | undefined)[],
  trailing: string,
): string {
  const taken = new Set(trailing === '' ? [] : trailing.split(',').map(nameOf));
  const parts: string[] = [];
  for (const source of sources) {
    if (source === undefined || source === '') continue;
    const kept: string[] = [];
    const named: string[] = [];
    for (const item of source.split(',')) {
      // An empty item (`a,,b`, a lone `,`) names nothing: it is dropped, not signed.
      if (item === '') continue;
      const name = nameOf(item);
      if (taken.has(name) || endsInTaken(name, taken)) continue;
      kept.push(item);
      named.push(name);
    }
    // A source may repeat its own names (KS v1 merges them): only later sources are held back.
    for (const name of named) taken.add(name);
    if (kept.length > 0) parts.push(kept.join(','));
  }
  if (trailing !== '') parts.push(trailing);
  return parts.join(',');
}
