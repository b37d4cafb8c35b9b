import { isEmail, normalizeEmail } from '../accounts/email.js';
import { checkPassword } from '../accounts/password.js';
import { attemptKeys, attemptSucceeded, reserveAttempt } from '../accounts/throttle.js';
import { InvalidGrant, TooManyAttempts } from '../protocol/errors.js';
import { required } from '../protocol/params.js';
import { randomToken } from '../util/crypto.js';
import { userScopeCeiling } from './rbac.js';
import type { GrantHandler } from './types.js';
import { audienceApi, userScopes } from './user-scopes.js';
import { issueUserTokens } from './user-tokens.js';

/**
 * RFC 6749 §4.3, for trusted legacy applications that have it switched on: the same
 * throttling as the login page (per account and IP, in the database), and one generic
 * invalid_grant, with the same argon2 work, for an unknown user, a wrong password and a
 * blocked user. No consent is asked: the application holds the password anyway.
 */
export const password: GrantHandler = {
  grantType: 'password',
  parameters: ['username', 'password', 'scope', 'audience', 'resource'],
  async handle({ deps, params, client, now, ip, event }) {
    const email = normalizeEmail(required(params, 'username'));
    const secret = required(params, 'password');
    const api = await audienceApi(deps, params);
    const scopes = userScopes(params.get('scope'), api);
    if (api) await userScopeCeiling(deps.storage, client.app, api);
    event.userName = email;
    const keys = attemptKeys(email, ip);
    const wait = await reserveAttempt(deps.storage.loginAttempts, deps.config.login, keys, now);
    if (wait > 0) {
      event.type = 'limit_wc';
      throw new TooManyAttempts(wait);
    }
    const user = isEmail(email) ? await deps.storage.users.getByEmail(email) : null;
    const ok = await checkPassword(user?.passwordHash, secret);
    if (!ok || !user || user.blocked) {
      if (user) event.userId = user.id;
      event.details = { reason: !user ? 'unknown user' : user.blocked ? 'blocked' : 'wrong password' };
      throw new InvalidGrant('wrong username or password');
    }
    await attemptSucceeded(deps.storage.loginAttempts, keys, { clearAccount: true });
    return issueUserTokens(
      deps,
      client.app,
      {
        grantId: randomToken(16),
        userId: user.id,
        scopes,
        authTime: now,
        ...(api ? { audience: api.identifier } : {}),
      },
      { fresh: true, event },
    );
  },
};
