import { describe, expect, it } from 'vitest';
import { readClientCredentials } from '../../../src/protocol/client-auth.js';
import { InvalidClient, InvalidRequest, type OAuthError } from '../../../src/protocol/errors.js';
import { parseParams } from '../../../src/protocol/params.js';

const basic = (raw: string, scheme = 'Basic') => `${scheme} ${Buffer.from(raw, 'utf8').toString('base64')}`;
const body = (fields: Record<string, string> = {}) => parseParams(new URLSearchParams(fields).toString());

function thrown(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    return err as OAuthError;
  }
  throw new Error('expected an error');
}

function expectInvalidClient(fn: () => unknown, description: string): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(InvalidClient);
  expect(err.error).toBe('invalid_client');
  expect(err.status).toBe(401);
  expect(err.headers['WWW-Authenticate']).toBe('Basic realm="sesame", error="invalid_client"');
  expect(err.description).toBe(description);
}

function expectInvalidRequest(fn: () => unknown, description: string): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(InvalidRequest);
  expect(err.error).toBe('invalid_request');
  expect(err.status).toBe(400);
  expect(err.description).toBe(description);
}

describe('readClientCredentials: client_secret_basic', () => {
  it('decodes id and secret', () => {
    expect(readClientCredentials(basic('my-app:s3cret'), body())).toStrictEqual({
      method: 'client_secret_basic',
      clientId: 'my-app',
      secret: 's3cret',
    });
  });

  it('form-url-decodes id and secret (RFC 6749 §2.3.1): %3A, %25 and +', () => {
    expect(readClientCredentials(basic('a%3Ab:100%25+sure%2B'), body())).toStrictEqual({
      method: 'client_secret_basic',
      clientId: 'a:b',
      secret: '100% sure+',
    });
  });

  it('splits at the first colon; the secret may contain raw colons', () => {
    const got = readClientCredentials(basic('app:se:cr:et'), body());
    expect(got.clientId).toBe('app');
    expect(got.secret).toBe('se:cr:et');
  });

  it('decodes UTF-8 percent-encoding', () => {
    const got = readClientCredentials(basic('caf%C3%A9:p%C3%A4ss'), body());
    expect(got.clientId).toBe('café');
    expect(got.secret).toBe('päss');
  });

  it('accepts the scheme in any case and extra spaces before the credentials', () => {
    expect(readClientCredentials(basic('x:y', 'basic'), body()).clientId).toBe('x');
    expect(readClientCredentials(basic('x:y', 'BASIC'), body()).secret).toBe('y');
    expect(readClientCredentials(`Basic   ${Buffer.from('x:y').toString('base64')}`, body()).clientId).toBe(
      'x',
    );
  });

  it('allows a body client_id equal to the Basic one', () => {
    expect(readClientCredentials(basic('a%3Ab:s'), body({ client_id: 'a:b' }))).toStrictEqual({
      method: 'client_secret_basic',
      clientId: 'a:b',
      secret: 's',
    });
  });

  it('rejects Basic together with client_secret in the body: invalid_request', () => {
    expectInvalidRequest(
      () => readClientCredentials(basic('app:s'), body({ client_secret: 's' })),
      'client authenticated with both Basic and client_secret; use one method',
    );
  });

  it('rejects a body client_id that differs from Basic: invalid_request', () => {
    expectInvalidRequest(
      () => readClientCredentials(basic('app:s'), body({ client_id: 'other' })),
      'client_id in the body differs from the Basic credentials',
    );
  });

  it('compares the body client_id with the decoded Basic id, not the encoded one', () => {
    expectInvalidRequest(
      () => readClientCredentials(basic('a%3Ab:s'), body({ client_id: 'a%3Ab' })),
      'client_id in the body differs from the Basic credentials',
    );
  });

  it.each([
    ['not base64', 'Basic !!!notbase64!!!'],
    ['no colon', basic('just-an-id')],
    ['empty client id', basic(':secret')],
    ['bad percent-encoding in the id', basic('%zz:secret')],
    ['bad percent-encoding in the secret', basic('app:100%')],
    ['nothing after the scheme', 'Basic '],
  ])('rejects malformed Basic (%s): invalid_client', (_name, header) => {
    expectInvalidClient(
      () => readClientCredentials(header, body()),
      'Authorization header is not valid Basic',
    );
  });

  it('rejects other schemes: invalid_client', () => {
    expectInvalidClient(
      () => readClientCredentials('Bearer abc.def.ghi', body({ client_id: 'app' })),
      'only Basic client authentication is supported',
    );
    expectInvalidClient(
      () => readClientCredentials('Basicx:y', body()),
      'only Basic client authentication is supported',
    );
  });

  it('accepts an empty secret (the secret check fails later, not here)', () => {
    expect(readClientCredentials(basic('app:'), body())).toStrictEqual({
      method: 'client_secret_basic',
      clientId: 'app',
      secret: '',
    });
  });
});

describe('readClientCredentials: body', () => {
  it('client_secret_post: client_id and client_secret in the body', () => {
    expect(readClientCredentials(undefined, body({ client_id: 'app', client_secret: 'p+w' }))).toStrictEqual({
      method: 'client_secret_post',
      clientId: 'app',
      secret: 'p+w',
    });
  });

  it('none: client_id alone, no secret property', () => {
    const got = readClientCredentials(undefined, body({ client_id: 'public-app' }));
    expect(got).toStrictEqual({ method: 'none', clientId: 'public-app' });
    expect('secret' in got).toBe(false);
  });

  it('an empty Authorization header counts as absent', () => {
    expect(readClientCredentials('', body({ client_id: 'app' }))).toStrictEqual({
      method: 'none',
      clientId: 'app',
    });
  });

  it('an empty client_secret is omitted, so the client is public', () => {
    expect(readClientCredentials(undefined, body({ client_id: 'app', client_secret: '' }))).toStrictEqual({
      method: 'none',
      clientId: 'app',
    });
  });

  it('no credentials at all: invalid_client', () => {
    expectInvalidClient(
      () => readClientCredentials(undefined, body()),
      'client authentication is required (client_id missing)',
    );
  });

  it('client_secret without client_id: invalid_client', () => {
    expectInvalidClient(
      () => readClientCredentials(undefined, body({ client_secret: 's' })),
      'client authentication is required (client_id missing)',
    );
  });
});
