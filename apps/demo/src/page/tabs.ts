/**
 * Which tab is which, and which tab renewed a KS. Every tab has a name (`Tab 1`, `Tab 2`…,
 * kept across reloads of that tab). The tab whose client fetches a KS tells the others over a
 * BroadcastChannel of the demo's own, so each tab's Log card can say where a KS came from.
 */

const CHANNEL = 'kaltura-ks-demo:tabs';
/** Tabs name a KS by its end: enough to match it, and no whole KS on this channel. */
const keyOf = (ks: string) => ks.slice(-16);
/** How long a tab waits for the renewing tab's message before saying "another tab". */
const WAIT_MS = 1_000;

function tabName(): string {
  let name = sessionStorage.getItem('kaltura-ks-demo:tab');
  if (name === null) {
    const n = Number(localStorage.getItem('kaltura-ks-demo:tabs') ?? '0') + 1;
    localStorage.setItem('kaltura-ks-demo:tabs', String(n));
    name = `Tab ${n}`;
    sessionStorage.setItem('kaltura-ks-demo:tab', name);
  }
  return name;
}

export interface Tabs {
  readonly name: string;
  /** For `createKsClient({ fetch })`: fetches, and tells the other tabs which KS this tab got. */
  fetch(url: string, init: RequestInit): Promise<Response>;
  /**
   * Who fetched this KS: `this tab (Tab 1)`, `Tab 2`, or `another tab`. With `wait`, gives the
   * fetching tab's message a moment to arrive (a KS can reach us before it).
   */
  renewedBy(ks: string, wait: boolean): Promise<string>;
}

export function trackTabs(): Tabs {
  const name = tabName();
  const channel = new BroadcastChannel(CHANNEL);
  const mine = new Set<string>();
  const theirs = new Map<string, string>();
  const waiting = new Map<string, () => void>();
  channel.onmessage = ({ data }: MessageEvent<{ tab?: unknown; key?: unknown }>) => {
    if (typeof data?.tab !== 'string' || typeof data.key !== 'string') return;
    theirs.set(data.key, data.tab.slice(0, 20));
    waiting.get(data.key)?.();
  };
  return {
    name,
    async fetch(url, init) {
      const response = await fetch(url, init);
      const body = (await response
        .clone()
        .json()
        .catch(() => undefined)) as { ks?: unknown } | undefined;
      if (response.ok && typeof body?.ks === 'string') {
        mine.add(keyOf(body.ks));
        channel.postMessage({ tab: name, key: keyOf(body.ks) });
      }
      return response;
    },
    async renewedBy(ks, wait) {
      const key = keyOf(ks);
      if (mine.has(key)) return `this tab (${name})`;
      if (wait && !theirs.has(key)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            waiting.delete(key);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, WAIT_MS);
          waiting.set(key, done);
        });
      }
      return theirs.get(key) ?? 'another tab';
    },
  };
}
