import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from './index.js';
import { type ExampleKaltura, startKaltura } from './kaltura.js';

/** Each example: started on the emulator, one KS fetched and verified, stopped. */
describe.each(Object.keys(EXAMPLES))('examples/%s', (name) => {
  let kaltura: ExampleKaltura;
  beforeAll(async () => {
    kaltura = await startKaltura();
  });
  afterAll(() => kaltura?.close());

  it('starts, hands a signed-in user a KS that verifies, and stops', async () => {
    const { start } = await EXAMPLES[name]!();
    const example = await start(kaltura);
    try {
      const cookie = `session=${await kaltura.signIn('alice')}`;
      const res = await fetch(`${example.url}/kaltura/ks`, { headers: { cookie } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ks: string; userId: string };
      expect(kaltura.verify(body.ks).userId).toBe('alice');
      expect(body.userId).toBe('alice');
      // The app's own page (or server component) gets the same user's KS.
      const page = await fetch(`${example.url}/`, { headers: { cookie } });
      expect(page.status).toBe(200);
      if (name === 'react') {
        expect(await page.text()).toContain('<script type="module" src="/app.js">');
        const js = await fetch(`${example.url}/app.js`);
        expect(js.headers.get('content-type')).toMatch(/javascript/);
        expect(await js.text()).toContain('/kaltura/ks');
      } else {
        expect(await page.json()).toMatchObject({ ksLength: body.ks.length });
      }
      const anonymous = await fetch(`${example.url}/kaltura/ks`);
      expect(anonymous.status).toBe(401);
    } finally {
      await example.close();
    }
  });
});
