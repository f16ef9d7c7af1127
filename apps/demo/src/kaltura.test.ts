import { verifyKs } from '@kaltura-ks/core';
import { createKsIssuer } from '@kaltura-ks/core/issuer';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { prepareKaltura } from './kaltura.js';

describe("the demo's app token, made on the emulator", () => {
  it('grants the sview the demo asks for its entry, so Kaltura keeps it in every KS', async () => {
    // On the emulator an entry is one of its samples (the player plays it).
    const entryId = '0_emu00003';
    const kaltura = await prepareKaltura(
      loadConfig({ KS_STRATEGY: 'app-token', KALTURA_ENTRY_ID: entryId }),
    );
    const issuer = createKsIssuer({ ...kaltura.setup.issuerOptions, onWarning: () => {} });
    try {
      const { ks } = await issuer.getKs({
        userId: 'alice',
        privileges: { sview: entryId, appid: 'kaltura-ks-demo' },
      });
      const partner = kaltura.emulator!.partners[0]!;
      const { privileges } = verifyKs(ks, { secrets: partner.adminSecret, partnerId: partner.id });
      expect(privileges).toMatch(new RegExp(`(^|,)sview:${entryId}(,|$)`));
    } finally {
      await issuer.close();
      await kaltura.close();
    }
  });
});
