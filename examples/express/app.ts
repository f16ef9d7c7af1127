import { jwtUser, kalturaKs } from '@kaltura-ks/express';
import express from 'express';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';
import { listen } from '../listen.js';

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  const app = express();
  const ks = kalturaKs({
    ...kaltura.options,
    getUser: jwtUser(kaltura.session),
    privileges: { sview: '*' },
  });
  app.use(ks); // GET/DELETE /kaltura/ks, and req.kaltura on every route after it

  app.get('/', async (req, res, next) => {
    try {
      if (!req.kaltura?.user) return void res.status(401).send('Sign in first');
      const { ks: userKs, expiresAt } = await req.kaltura.getKs(); // the KS the browser gets
      res.json({ user: req.kaltura.user.id, ksLength: userKs.length, expiresAt });
    } catch (error) {
      next(error);
    }
  });

  return listen(app, port, () => ks.engine.close());
}
