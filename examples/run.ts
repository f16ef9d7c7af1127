/**
 * `pnpm example <express|koa|fastify|hono|nextjs|react> [port]`: starts the embedded Kaltura
 * emulator and the example on 127.0.0.1 (default port 3000), and prints how to try it.
 */
import { EXAMPLES } from './index.js';
import { startKaltura } from './kaltura.js';

const [name = 'express', port = '3000'] = process.argv.slice(2);
const load = EXAMPLES[name];
if (!load) {
  process.stderr.write(`usage: pnpm example <${Object.keys(EXAMPLES).join('|')}> [port]\n`);
  process.exit(2);
}
const kaltura = await startKaltura();
const { start } = await load();
const example = await start(kaltura, Number(port));
const cookie = `session=${await kaltura.signIn('alice')}`;
process.stdout.write(
  name === 'react'
    ? `Open ${example.url}/ (you are signed in as alice)\n`
    : `curl -b '${cookie}' ${example.url}/kaltura/ks\ncurl -b '${cookie}' ${example.url}/\n`,
);
const stop = async () => {
  await example.close();
  await kaltura.close();
  process.exit(0);
};
process.once('SIGINT', stop).once('SIGTERM', stop);
