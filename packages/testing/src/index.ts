export {
  type AdapterHarness,
  adapterContract,
  CONTRACT_PARTNER,
  CONTRACT_SECRET,
} from './adapter-contract.js';
