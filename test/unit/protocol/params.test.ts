import { describe, expect, it } from 'vitest';
import { InvalidRequest, type OAuthError } from '../../../src/protocol/errors.js';
import { parseJsonParams, parseParams, required } from '../../../src/protocol/params.js';

function thrown(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    return err as OAuthError;
  }
  throw new Error('expected an error');
}

describe('parseParams', () => {
  it('reads single values and decodes form encoding', () => {
    const p = parseParams('grant_type=client_credentials&scope=read%3Athings+write%3Athings&x=a%2Bb');
    expect(p.get('grant_type')).toBe('client_credentials');
    expect(p.get('scope')).toBe('read:things write:things');
    expect(p.get('x')).toBe('a+b');
    expect(p.get('missing')).toBeUndefined();
    expect(p.all('scope')).toEqual(['read:things write:things']);
    expect(p.all('missing')).toEqual([]);
    expect(p.names()).toEqual(['grant_type', 'scope', 'x']);
  });

  it('accepts a leading ? (query strings)', () => {
    expect(parseParams('?state=abc').get('state')).toBe('abc');
  });

  it('rejects a repeated parameter with invalid_request naming it', () => {
    const err = thrown(() => parseParams('client_id=a&scope=x&scope=y'));
    expect(err).toBeInstanceOf(InvalidRequest);
    expect(err.error).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.description).toBe('parameter scope is repeated');
    expect(err.toJSON()).toEqual({
      error: 'invalid_request',
      error_description: 'parameter scope is repeated',
    });
  });

  it('rejects a repeat even when both values are the same', () => {
    expect(thrown(() => parseParams('code=abc&code=abc')).description).toBe('parameter code is repeated');
  });

  it('treats a parameter with an empty value as omitted', () => {
    const p = parseParams('client_secret=&client_id=app&state');
    expect(p.get('client_secret')).toBeUndefined();
    expect(p.all('client_secret')).toEqual([]);
    expect(p.get('state')).toBeUndefined();
    expect(p.names()).toEqual(['client_id']);
  });

  it('lets parameters in the repeatable set repeat, in order, and drops their empty values', () => {
    const p = parseParams(
      'resource=https%3A%2F%2Fa.example&resource=&resource=https%3A%2F%2Fb.example',
      new Set(['resource']),
    );
    expect(p.all('resource')).toEqual(['https://a.example', 'https://b.example']);
    expect(p.get('resource')).toBe('https://a.example');
  });

  it('repeatable set does not exempt other parameters', () => {
    const err = thrown(() =>
      parseParams('resource=a&resource=b&audience=x&audience=y', new Set(['resource'])),
    );
    expect(err.description).toBe('parameter audience is repeated');
  });

  it('a member without a name (=x, twice) is no parameter: ignored, as unknown ones are (RFC 6749 §3.1)', () => {
    const p = parseParams('=x&client_id=app&=y');
    expect(p.names()).toEqual(['client_id']);
    expect(parseJsonParams('{"":"x","client_id":"app","":"y"}').names()).toEqual(['client_id']);
  });

  it('a repeatable parameter sent only empty is omitted', () => {
    const p = parseParams('resource=&resource=', new Set(['resource']));
    expect(p.all('resource')).toEqual([]);
    expect(p.names()).toEqual([]);
  });
});

describe('required', () => {
  it('returns a present value', () => {
    expect(required(parseParams('code=xyz'), 'code')).toBe('xyz');
  });

  it('throws invalid_request naming a missing or empty parameter', () => {
    for (const text of ['', 'grant_type=']) {
      const err = thrown(() => required(parseParams(text), 'grant_type'));
      expect(err).toBeInstanceOf(InvalidRequest);
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('parameter grant_type is required');
    }
  });
});
