import { kalturaKs } from '@kaltura-ks/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type AdapterHarness, adapterContract } from '../index.js';

const harness: AdapterHarness<Request> = {
  name: 'express',
  kalturaKs: (options) => kalturaKs(options),
  createApp(options) {
    const app = express();
    app.get('/static', (_req, res) => {
      res.send('static');
    });
    const middleware = kalturaKs(options);
    app.use(middleware);
    app.get('/api/ks', async (req, res, next) => {
      try {
        res.json(await req.kaltura!.getKs());
      } catch (error) {
        next(error);
      }
    });
    app.get('/api/user', (req, res) => {
      res.json({ user: req.kaltura!.user });
    });
    app.use((error: { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ error: error.code ?? 'unknown' });
    });
    return { target: app, close: () => middleware.engine.close() };
  },
};

adapterContract(harness);
