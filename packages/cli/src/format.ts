import { KsType } from '@kaltura-ks/core';

export function typeName(type: number): string {
  if (type === KsType.USER) return 'USER (0)';
  if (type === KsType.ADMIN) return 'ADMIN (2)';
  return `${type} (counts as admin)`;
}

export function describeExpiry(validUntil: number, nowMs: number): string {
  const date = new Date(validUntil * 1000);
  const when = Number.isNaN(date.getTime()) ? String(validUntil) : date.toISOString();
  const left = validUntil - Math.floor(nowMs / 1000);
  if (left <= 0) return `${when} (expired ${formatDuration(-left)} ago)`;
  return `${when} (in ${formatDuration(left)})`;
}

/** `45s`, `12m 5s`, `3h 20m`, `4d 2h`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Aligned `label  value` lines. */
export function table(rows: ReadonlyArray<readonly [string, string | number | undefined]>): string {
  const shown = rows.filter(([, value]) => value !== undefined && value !== '');
  const width = Math.max(...shown.map(([label]) => label.length));
  return `${shown.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

/** Rows under a header, each column as wide as its widest cell. */
export function columns(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
