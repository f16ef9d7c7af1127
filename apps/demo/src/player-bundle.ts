import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let bundle: string | undefined;

/**
 * The Kaltura Player's OVP build, `dist/kaltura-ovp-player.js` of the installed npm package
 * `@playkit-js/kaltura-player-js` (self-contained, defines `window.KalturaPlayer`): what the
 * demo serves on the embedded emulator instead of Kaltura's CDN. Read once.
 */
export function playerBundle(): string {
  bundle ??= readFileSync(
    createRequire(import.meta.url).resolve('@playkit-js/kaltura-player-js'),
    'utf8',
  );
  return bundle;
}
