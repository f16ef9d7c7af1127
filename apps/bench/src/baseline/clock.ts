export type { Clock } from '@kaltura-ks/core';
