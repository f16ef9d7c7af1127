// `node --import ./from-source.mjs <package>/bin/<name>.js`: runs a published bin as it is,
// with its `../dist/<module>.js` import answered from `../src/<module>.ts` (tsx, imported
// before this, compiles it), so tests spawn the real bins without a build.
import { register } from 'node:module';

register('./from-source-hooks.mjs', import.meta.url);
