import { createKsClient, type KsClient, type KsSession } from '@kaltura-ks/browser';
import { $, clock, log, seconds, shortKs, tail, text } from './log.js';
import { loadPlayer, type PlayerInfo } from './player.js';
import { type Tabs, trackTabs } from './tabs.js';

interface Me {
  user: { id: string } | null;
  defaultUserId: string;
  kaltura: {
    backend: 'emulator' | 'kaltura';
    partnerId: number;
    strategy: string;
    serviceUrl: string;
  };
  expiresInSeconds: number;
  clientTiming: { minRenewIntervalMs: number; minRemainingMs: number };
  player: PlayerInfo;
}

/** The route's body carries this too (server clock): before it, `?renew=1` gives the same KS back. */
type RouteSession = KsSession & { renewableAt?: number };

const STRATEGY: Record<string, string> = {
  local: 'signed locally',
  'session-start': 'session.start',
  'app-token': 'app token',
};

/** Shown on the sign-in page after this tab was signed out by something it did not do. */
const NOTICE = 'kaltura-ks-demo:notice';

async function post(path: string, body?: URLSearchParams | object): Promise<Response> {
  const json = body !== undefined && !(body instanceof URLSearchParams);
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
    },
    body: json ? JSON.stringify(body) : body,
  });
}

function showBackend(me: Me): void {
  const k = me.kaltura;
  const where = k.backend === 'emulator' ? 'embedded emulator' : new URL(k.serviceUrl).host;
  $('backend').innerHTML = '';
  const parts: Array<[string, string]> = [
    ['Kaltura', where],
    ['partner', String(k.partnerId)],
    ['KS', STRATEGY[k.strategy] ?? k.strategy],
    ['lifetime', `${me.expiresInSeconds} s`],
  ];
  parts.forEach(([label, value], i) => {
    if (i > 0) $('backend').append(' · ');
    const b = document.createElement('b');
    b.textContent = value;
    $('backend').append(`${label} `, b);
  });
}

function signedOut(me: Me): void {
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
  const notice = sessionStorage.getItem(NOTICE);
  if (notice !== null) {
    sessionStorage.removeItem(NOTICE);
    text('notice', notice);
    $('notice').hidden = false;
  }
  const input = $<HTMLInputElement>('user');
  if (!input.value) input.value = me.defaultUserId;
  input.focus();
  $('login-form').onsubmit = async (event) => {
    event.preventDefault();
    const res = await post('/login', new URLSearchParams({ user: input.value }));
    if (res.ok) {
      location.assign('/');
      return;
    }
    const error = $('login-error');
    error.textContent =
      ((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error
        ?.message ?? 'Sign-in failed.';
    error.hidden = false;
  };
}

async function inspect(session: KsSession): Promise<void> {
  const res = await post('/api/ks/inspect', { ks: session.ks });
  const fields = $('fields');
  if (!res.ok) {
    text('verified', '');
    return;
  }
  const info = (await res.json()) as Record<string, unknown>;
  if (session.ks !== current?.ks) return; // a newer KS arrived meanwhile
  for (const dd of fields.querySelectorAll<HTMLElement>('dd')) {
    const key = dd.dataset.field!;
    const value = info[key];
    dd.textContent =
      key === 'type'
        ? value === 2
          ? 'ADMIN (2)'
          : 'USER (0)'
        : key === 'validUntil'
          ? new Date(Number(value) * 1000).toLocaleString()
          : key === 'version'
            ? `KS v${value}`
            : value === '' || value === undefined
              ? '(none)'
              : String(value);
  }
  text('verified', info.verified ? '· verified on the server' : '· as issued by the server');
}

let current: KsSession | undefined;

async function showSession(client: KsClient, tabs: Tabs, session: KsSession): Promise<void> {
  const previous = current;
  current = session;
  text('ks', shortKs(session.ks));
  $('ks').title = 'The full KS is copied by the Copy button';
  $<HTMLButtonElement>('copy').disabled = false;
  $<HTMLButtonElement>('renew').disabled = false;
  const timing = client.timing;
  const life = timing ? seconds(timing.expiresAt - Date.now()) : '';
  void inspect(session);
  const by = await tabs.renewedBy(session.ks, previous !== undefined);
  log(
    previous
      ? `Renewed by ${by}: ${tail(previous.ks)} → ${tail(session.ks)} (${life} left)`
      : `Got a KS from ${by} (${life} left)`,
    'ok',
  );
}

function tick(client: KsClient, lifetimeMs: number): void {
  const timing = client.timing;
  const now = Date.now();
  if (!timing || !client.current) {
    text('expires-in', '—');
    text('renews-in', '—');
    $('life-bar').style.width = '0';
    return;
  }
  const left = timing.expiresAt - now;
  text('expires-in', seconds(left));
  text('renews-in', timing.renewAt > now ? seconds(timing.renewAt - now) : 'now');
  const bar = $('life-bar');
  bar.style.width = `${Math.max(0, Math.min(100, (left / lifetimeMs) * 100))}%`;
  bar.classList.toggle('low', left < lifetimeMs * 0.2);
}

/** "Renew now": the server renews a KS at most once per interval and says from when (renewableAt). */
async function renewNow(client: KsClient): Promise<void> {
  log('Renew requested', 'info');
  const before = current?.ks;
  const ks = await client.refresh().catch(() => undefined);
  const session = client.current as RouteSession | undefined;
  const timing = client.timing;
  if (ks === undefined || ks !== before || !session?.renewableAt || !timing) return;
  // Server time to local time, as the client measures it.
  const renewableAt = session.renewableAt - (session.expiresAt - timing.expiresAt);
  log(
    `Not renewed: the server keeps a KS this recent. Renewing is possible in ${seconds(renewableAt - Date.now())} (at ${clock(new Date(renewableAt))}).`,
    'info',
  );
}

function signedIn(me: Me, user: { id: string }): void {
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  text('user-name', user.id);
  const tabs = trackTabs();
  text('tab-name', tabs.name);
  const client = createKsClient({ url: '/kaltura/ks', fetch: tabs.fetch, ...me.clientTiming });
  const lifetimeMs = me.expiresInSeconds * 1000;
  let signingOut = false;
  let sessionEnded = false;

  client.subscribe((event) => {
    if (event.type === 'ks') void showSession(client, tabs, event.session);
    else if (event.type === 'switch') {
      // Another tab signed in as someone else: this page belongs to that user now.
      log(`Another tab signed in as ${event.session.userId}: reloading`, 'info');
      setTimeout(() => location.assign('/'), 400);
    } else if (event.type === 'error') {
      if (event.error.code === 'ERR_KS_NO_USER') sessionEnded = true;
      log(`${event.error.code}: ${event.error.message}`, 'bad');
    } else {
      const elsewhere = !signingOut && !sessionEnded;
      log(
        elsewhere
          ? 'Signed out in another tab: the KS is gone from every tab'
          : 'Signed out: the KS is gone from every tab',
        'info',
      );
      if (!signingOut) {
        sessionStorage.setItem(
          NOTICE,
          elsewhere
            ? 'You were signed out in another tab.'
            : 'Your session has ended. Sign in again.',
        );
      }
      current = undefined;
      text('ks', '—');
      setTimeout(() => location.assign('/'), 400);
    }
  });
  client.getKs().catch(() => {});
  const timer = setInterval(() => tick(client, lifetimeMs), 250);

  $('renew').onclick = () => void renewNow(client);
  $('copy').onclick = async () => {
    if (!current) return;
    await navigator.clipboard.writeText(current.ks);
    log('KS copied to the clipboard', 'info');
  };
  $('logout-form').onsubmit = async (event) => {
    event.preventDefault();
    signingOut = true;
    clearInterval(timer);
    client.clear(); // every open tab forgets the KS now
    await post('/logout');
    location.assign('/');
  };

  void loadPlayer(client, me.player);
}

async function boot(): Promise<void> {
  const me = (await (await fetch('/api/me', { credentials: 'same-origin' })).json()) as Me;
  showBackend(me);
  if (me.user) signedIn(me, me.user);
  else signedOut(me);
}

void boot();
