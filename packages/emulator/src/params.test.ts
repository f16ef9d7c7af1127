import { describe, expect, it } from 'vitest';
import { errorBody } from './errors.js';
import { phpJson } from './json.js';
import { addFormParams, addJsonParams, Params, type ParamTree, phpInt } from './params.js';

function form(text: string): ParamTree {
  const tree: ParamTree = new Map();
  addFormParams(tree, text);
  return tree;
}

function toObject(tree: ParamTree): unknown {
  return Object.fromEntries([...tree].map(([k, v]) => [k, v instanceof Map ? toObject(v) : v]));
}

describe('request parameters', () => {
  it('reads PHP arrays, Kaltura colons and JSON into the same tree', () => {
    const expected = { filter: { statusEqual: '2', idIn: 'a,b' }, ks: 'x y' };
    expect(toObject(form('filter[statusEqual]=2&filter[idIn]=a%2Cb&ks=x+y'))).toEqual(expected);
    expect(toObject(form('filter:statusEqual=2&filter:idIn=a,b&ks=x%20y'))).toEqual(expected);
    const json: ParamTree = new Map();
    addJsonParams(json, { filter: { statusEqual: 2, idIn: 'a,b' }, ks: 'x y', dropped: null });
    expect(toObject(json)).toEqual(expected);
  });

  it('groups multirequest keys and lets later values win', () => {
    expect(toObject(form('1:service=session&1:action=start&2:ks={1:result}&1:action=end'))).toEqual(
      {
        1: { service: 'session', action: 'end' },
        2: { ks: '{1:result}' },
      },
    );
    const mixed = form('appToken:description=a');
    addJsonParams(mixed, { 'appToken:hashType': 'MD5', appToken: { sessionType: 0 } });
    expect(toObject(mixed)).toEqual({
      appToken: { description: 'a', hashType: 'MD5', sessionType: '0' },
    });
  });

  it('reads the bracket form core’s client sends for multirequests', () => {
    expect(
      toObject(form('1[service]=appToken&1[appToken][objectType]=KalturaAppToken&2[service]=x')),
    ).toEqual({
      1: { service: 'appToken', appToken: { objectType: 'KalturaAppToken' } },
      2: { service: 'x' },
    });
  });

  it('understands `-` (an empty object) and `a[]` (append)', () => {
    expect(toObject(form('filter:-=&tags[]=a&tags[]=b'))).toEqual({
      filter: {},
      tags: { 0: 'a', 1: 'b' },
    });
  });

  it('refuses broken percent-encoding and invalid UTF-8', () => {
    expect(() => form('a=%4')).toThrow();
    expect(() => form('a=%C3%28')).toThrow();
    expect(() => form('%zz=1')).toThrow();
  });

  it('reads typed values with Kaltura’s errors', () => {
    const p = new Params(form('n=12abc&t=true&e=2&bad=%01&obj[x]=1&s=SHA1'));
    expect(p.int('n')).toBe(12);
    expect(p.intEnum('t', [0, 1], 'T')).toBe(1);
    expect(p.intEnum('e', [0, 2], 'KalturaSessionType')).toBe(2);
    expect(() => p.intEnum('n', [0, 2], 'KalturaSessionType')).toThrow(
      /Invalid enumeration value "12abc"/,
    );
    expect(() => p.string('bad')).toThrow(/Invalid char in "bad" field/);
    expect(() => p.string('obj')).toThrow(/value in field \[obj\] is not valid/);
    expect(p.object('obj')?.string('x')).toBe('1');
    expect(() => p.requiredString('missing')).toThrow(/Missing parameter "missing"/);
    expect(p.stringEnum('s', ['SHA1', 'MD5'], 'H')).toBe('SHA1');
  });

  it('casts like PHP (int)', () => {
    expect([
      phpInt('42'),
      phpInt(' -7x'),
      phpInt('abc'),
      phpInt(''),
      phpInt('3.9'),
      phpInt('99999999999999999999'),
    ]).toEqual([42, -7, 0, 0, 3, Number.MAX_SAFE_INTEGER]);
  });
});

describe('errorBody', () => {
  it('fills Kaltura’s template, N/A for missing arguments, [] without any', () => {
    expect(errorBody('ACTION_DOES_NOT_EXISTS', 'x')).toEqual({
      code: 'ACTION_DOES_NOT_EXISTS',
      message: 'Action "x" does not exists for service "N/A"',
      objectType: 'KalturaAPIException',
      args: { ACTION_NAME: 'x', SERVICE_NAME: 'N/A' },
    });
    expect(errorBody('MISSING_KS').args).toEqual([]);
    expect(errorBody('APP_TOKEN_ID_NOT_FOUND', '<b>0_x</b>').args).toEqual({ ID: '0_x' });
    expect(errorBody('APP_TOKEN_ID_NOT_FOUND', 'y'.repeat(1000)).message.length).toBeLessThan(300);
  });
});

describe('phpJson', () => {
  it('escapes "/" and non-ASCII as PHP does', () => {
    expect(phpJson({ a: 'x/y', b: 'é€😀' })).toBe(
      '{"a":"x\\/y","b":"\\u00e9\\u20ac\\ud83d\\ude00"}',
    );
    expect(phpJson(null)).toBe('null');
    expect(JSON.parse(phpJson({ a: 'x/y', b: 'é€😀' }))).toEqual({ a: 'x/y', b: 'é€😀' });
  });
});
