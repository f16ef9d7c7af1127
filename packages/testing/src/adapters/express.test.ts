import { type AdapterHarness, adapterContract } from '@kaltura-ks/testing';
import express, { type NextFunction, type Request, type Response } from 'express';
import { kalturaKs } from './index.js';

const harness: AdapterHarness = {
  name: 'express',
  kalturaKs: (options) => kalturaKs(options as never),
  createApp(options) {
    const app = express();
    app.get('/static', (_req, res) => {
      res.send('static');
    });
    app.use(kalturaKs(options as never));
    app.get('/api/ks', async (req, res, next) => {
      try {
        const session = await req.kaltura!.getKs();
        res.json({ ks: session.ks, userId: session.userId });
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
    return { target: app as never };
  },
};

adapterContract(harness);
