import { describe, expect, it } from 'vitest';
import { InvalidRequest, InvalidTarget, type OAuthError } from '../../../src/protocol/errors.js';
import { parseParams } from '../../../src/protocol/params.js';
import { requestedAudience } from '../../../src/protocol/resource.js';

const params = (pairs: [string, string][]) =>
  parseParams(new URLSearchParams(pairs).toString(), new Set(['resource']));

function thrown(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    return err as OAuthError;
  }
  throw new Error('expected an error');
}

describe('requestedAudience', () => {
  it('is undefined when neither audience nor resource is sent', () => {
    expect(requestedAudience(params([['grant_type', 'client_credentials']]))).toBeUndefined();
  });

  it('returns the audience (any string, as in Auth0)', () => {
    expect(requestedAudience(params([['audience', 'https://api.example']]))).toBe('https://api.example');
    expect(requestedAudience(params([['audience', 'my-api']]))).toBe('my-api');
  });

  it('returns the resource (RFC 8707)', () => {
    expect(requestedAudience(params([['resource', 'https://api.example/v1']]))).toBe(
      'https://api.example/v1',
    );
    expect(requestedAudience(params([['resource', 'urn:example:api']]))).toBe('urn:example:api');
  });

  it('accepts the same resource sent twice', () => {
    const p = params([
      ['resource', 'https://api.example'],
      ['resource', 'https://api.example'],
    ]);
    expect(requestedAudience(p)).toBe('https://api.example');
  });

  it('accepts audience and resource naming the same API', () => {
    const p = params([
      ['audience', 'https://api.example'],
      ['resource', 'https://api.example'],
    ]);
    expect(requestedAudience(p)).toBe('https://api.example');
  });

  it('refuses audience and resource naming different APIs: invalid_request', () => {
    const err = thrown(() =>
      requestedAudience(
        params([
          ['audience', 'https://a.example'],
          ['resource', 'https://b.example'],
        ]),
      ),
    );
    expect(err).toBeInstanceOf(InvalidRequest);
    expect(err.error).toBe('invalid_request');
    expect(err.description).toBe('audience and resource name different APIs; send one');
  });

  it('refuses two different resources: invalid_target', () => {
    const err = thrown(() =>
      requestedAudience(
        params([
          ['resource', 'https://a.example'],
          ['resource', 'https://b.example'],
        ]),
      ),
    );
    expect(err).toBeInstanceOf(InvalidTarget);
    expect(err.error).toBe('invalid_target');
    expect(err.status).toBe(400);
    expect(err.description).toBe('only one resource may be requested at a time');
  });

  it.each([
    ['relative', 'api/v1'],
    ['with a fragment', 'https://api.example/#frag'],
    ['a bare word', 'orders'],
  ])('refuses a resource that is %s: invalid_target', (_name, value) => {
    const err = thrown(() => requestedAudience(params([['resource', value]])));
    expect(err).toBeInstanceOf(InvalidTarget);
    expect(err.error).toBe('invalid_target');
    expect(err.description).toBe('resource must be an absolute URI without a fragment');
  });

  it('checks every resource for validity before counting them', () => {
    const err = thrown(() =>
      requestedAudience(
        params([
          ['resource', 'https://a.example'],
          ['resource', 'relative'],
        ]),
      ),
    );
    expect(err.description).toBe('resource must be an absolute URI without a fragment');
  });
});
