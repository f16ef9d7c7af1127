/** The Log card, and the small formatters the page shares. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) =>
  document.getElementById(id) as T;

export function text(id: string, value: string): void {
  $(id).textContent = value;
}

/** The end of a KS, enough to tell two apart in the log without showing one. */
export function tail(ks: string): string {
  return `…${ks.slice(-8)}`;
}

export function shortKs(ks: string): string {
  return ks.length > 28 ? `${ks.slice(0, 16)}…${ks.slice(-10)}` : ks;
}

export function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 120 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

export function clock(date = new Date()): string {
  return date.toLocaleTimeString([], { hour12: false });
}

export type LogKind = 'ok' | 'bad' | 'info';

export function log(message: string, kind: LogKind = 'info'): void {
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
