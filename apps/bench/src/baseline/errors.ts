export { KsError } from '@kaltura-ks/core';
