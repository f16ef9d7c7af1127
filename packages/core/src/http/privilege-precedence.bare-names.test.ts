import { describe, expect, it } from 'vitest';
import { joinByPrecedence } from './privilege-precedence.js';

/** A privilege named without a value (`edit`) is named all the same: it decides that name. */

describe('joinByPrecedence with bare names', () => {
  it('a bare name in the configuration holds back the same name with a value later', () => {
    expect(joinByPrecedence(['edit,list', 'edit:*,list:0_a,sview:1'], '')).toBe(
      'edit,list,sview:1',
    );
  });

  it('a name with a value holds back the bare name later, and a bare appid outranks every source', () => {
    expect(joinByPrecedence(['edit:0_a', 'edit,download'], '')).toBe('edit:0_a,download');
    expect(joinByPrecedence(['appid:mine,sview'], 'appid')).toBe('sview,appid');
  });

  it('a later bare name that ends in an earlier one is held back too', () => {
    expect(joinByPrecedence(['view', 'sview,list'], '')).toBe('view,list');
  });
});
