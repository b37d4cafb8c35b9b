import { describe, expect, it } from 'vitest';
import { formatScope, isScopeToken, OIDC_SCOPES, parseScope } from '../../../src/protocol/scope.js';

describe('isScopeToken (RFC 6749 §3.3)', () => {
  it.each(['openid', 'read:things', 'https://api.example/read', 'a', '!#[]~', 'x-y_z.1'])(
    'accepts %j',
    (s) => {
      expect(isScopeToken(s)).toBe(true);
    },
  );

  it.each([
    ['empty', ''],
    ['a space', 'a b'],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['a tab', 'a\tb'],
    ['a newline', 'read\n'],
    ['DEL', 'a\x7f'],
    ['non-ASCII', 'café'],
  ])('rejects a token with %s', (_name, s) => {
    expect(isScopeToken(s)).toBe(false);
  });
});

describe('parseScope', () => {
  it('absent or empty is the empty list', () => {
    expect(parseScope(undefined)).toEqual([]);
    expect(parseScope('')).toEqual([]);
    expect(parseScope('   ')).toEqual([]);
  });

  it('splits on spaces, keeps order, drops duplicates and extra spaces', () => {
    expect(parseScope('openid profile read:things')).toEqual(['openid', 'profile', 'read:things']);
    expect(parseScope(' b  a b ')).toEqual(['b', 'a']);
  });

  it('is null when any token is malformed', () => {
    expect(parseScope('openid "profile"')).toBeNull();
    expect(parseScope('openid\tprofile')).toBeNull();
    expect(parseScope('read\\write')).toBeNull();
    expect(parseScope('openid é')).toBeNull();
  });
});

describe('formatScope', () => {
  it('joins with single spaces', () => {
    expect(formatScope(['openid', 'read:things'])).toBe('openid read:things');
    expect(formatScope([])).toBe('');
  });

  it('round-trips through parseScope', () => {
    const scopes = ['openid', 'email', 'write:things'];
    expect(parseScope(formatScope(scopes))).toEqual(scopes);
  });
});

describe('OIDC_SCOPES', () => {
  it('reserves the OpenID Connect scopes', () => {
    expect([...OIDC_SCOPES]).toEqual(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);
  });
});
