import { createKsClient, type KsClient, type KsSession } from '@kaltura-ks/browser';

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
  player:
    | { partnerId: number; playerId: number; entryId: string }
    | { configured: false; entryId: string | null };
}

const STRATEGY: Record<string, string> = {
  local: 'signed locally',
  'session-start': 'session.start',
  'app-token': 'app token',
};

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function text(id: string, value: string): void {
  $(id).textContent = value;
}

function shortKs(ks: string): string {
  return ks.length > 28 ? `${ks.slice(0, 16)}…${ks.slice(-10)}` : ks;
}

function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 120 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function clock(date = new Date()): string {
  return date.toLocaleTimeString([], { hour12: false });
}

function log(message: string, kind: 'ok' | 'bad' | 'info' = 'info'): void {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = clock();
  const body = document.createElement('span');
  body.className = kind;
  body.textContent = message;
  item.append(time, body);
  const list = $('log');
  list.prepend(item);
  while (list.children.length > 100) list.lastElementChild?.remove();
}

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

function showSession(client: KsClient, session: KsSession): void {
  const previous = current;
  current = session;
  text('ks', shortKs(session.ks));
  $('ks').title = 'The full KS is copied by the Copy button';
  $<HTMLButtonElement>('copy').disabled = false;
  $<HTMLButtonElement>('renew').disabled = false;
  const timing = client.timing;
  const life = timing ? seconds(timing.expiresAt - Date.now()) : '';
  log(
    previous
      ? `Renewed: …${previous.ks.slice(-8)} → …${session.ks.slice(-8)} (${life} left)`
      : `Got a KS (${life} left)`,
    'ok',
  );
  void inspect(session);
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

function loadPlayer(
  client: KsClient,
  player: { partnerId: number; playerId: number; entryId: string },
): void {
  const script = document.createElement('script');
  script.src = `https://cdnapisec.kaltura.com/p/${player.partnerId}/embedPlaykitJs/uiconf_id/${player.playerId}`;
  script.onload = async () => {
    const ks = await client.getKs();
    const KalturaPlayer = (
      window as unknown as {
        KalturaPlayer: { setup(config: object): { loadMedia(m: object): Promise<void> } };
      }
    ).KalturaPlayer;
    const instance = KalturaPlayer.setup({
      targetId: 'player',
      provider: { partnerId: player.partnerId, uiConfId: player.playerId, ks },
      playback: { autoplay: false },
    });
    client.attachPlayer(instance as never);
    await instance.loadMedia({ entryId: player.entryId });
    log(`Player loaded entry ${player.entryId}, kept on the current KS`, 'info');
  };
  script.onerror = () => log('The Kaltura Player could not be loaded (offline?)', 'bad');
  document.head.append(script);
}

function playerNote(entryId: string | null): void {
  const note = $('player-note');
  note.hidden = false;
  note.innerHTML = '';
  const lead = document.createElement('p');
  lead.textContent = `With a Kaltura account, the Kaltura Player would play ${entryId ? `entry ${entryId}` : 'your entry'} here, and attachPlayer() would hand it each new KS as it renews.`;
  const how = document.createElement('p');
  how.innerHTML =
    'Set <code>KALTURA_SERVICE_URL</code>, <code>KALTURA_PARTNER_ID</code>, a way to mint (<code>KALTURA_ADMIN_SECRET</code>, or <code>KS_STRATEGY=app-token</code> with <code>KALTURA_APP_TOKEN_ID</code>/<code>KALTURA_APP_TOKEN</code>), <code>KALTURA_PLAYER_ID</code> and <code>KALTURA_ENTRY_ID</code> in <code>.env</code> — see <code>apps/demo/.env.example</code>.';
  note.append(lead, how);
}

function signedIn(me: Me, user: { id: string }): void {
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  text('user-name', user.id);
  const client = createKsClient({ url: '/kaltura/ks' });
  const lifetimeMs = me.expiresInSeconds * 1000;

  client.subscribe((event) => {
    if (event.type === 'ks') showSession(client, event.session);
    else if (event.type === 'error') log(`${event.error.code}: ${event.error.message}`, 'bad');
    else {
      log('Signed out (here or in another tab): the KS is gone from every tab', 'info');
      current = undefined;
      text('ks', '—');
      setTimeout(() => location.assign('/'), 400);
    }
  });
  client.getKs().catch(() => {});
  const timer = setInterval(() => tick(client, lifetimeMs), 250);

  $('renew').onclick = () => {
    log('Renew requested', 'info');
    client.refresh().catch(() => {});
  };
  $('copy').onclick = async () => {
    if (!current) return;
    await navigator.clipboard.writeText(current.ks);
    log('KS copied to the clipboard', 'info');
  };
  $('logout-form').onsubmit = async (event) => {
    event.preventDefault();
    clearInterval(timer);
    client.clear(); // every open tab forgets the KS now
    await post('/logout');
    location.assign('/');
  };

  if ('playerId' in me.player) loadPlayer(client, me.player);
  else playerNote(me.player.entryId);
}

async function boot(): Promise<void> {
  const me = (await (await fetch('/api/me', { credentials: 'same-origin' })).json()) as Me;
  showBackend(me);
  if (me.user) signedIn(me, me.user);
  else signedOut(me);
}

void boot();
