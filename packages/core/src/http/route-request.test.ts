import { describe, expect, it } from 'vitest';
import { routeRequest } from './route-request.js';

describe('routeRequest: one rule for renew in every adapter', () => {
  const headers = { host: 'app.example' };

  it.each([
    ['/kaltura/ks', false],
    ['/kaltura/ks?', false],
    ['/kaltura/ks?renew=1', true],
    ['/kaltura/ks?x=2&renew=1', true],
    ['/kaltura/ks?renew=%31', true],
    ['/kaltura/ks?renew=1&renew=0', true],
    ['/kaltura/ks?renew=0&renew=1', false],
    ['/kaltura/ks?renew=true', false],
    ['/kaltura/ks?renew', false],
    ['/kaltura/ks?renewal=1', false],
    ['https://app.example/kaltura/ks?renew=1', true],
    ['https://app.example/kaltura/ks', false],
  ])('%s → renew %s', (url, renew) => {
    expect(routeRequest('GET', headers, url)).toEqual({ method: 'GET', headers, renew });
  });
});
