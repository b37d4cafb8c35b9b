import { isEmail, normalizeEmail } from '../accounts/email.js';
import { checkPassword, refuseWhenBusy, rehashIfOutdated } from '../accounts/password.js';
import {
  countSignIn,
  lockEvents,
  lockType,
  passwordProven,
  refusalDetails,
  reserveSignIn,
  signInPlace,
} from '../accounts/throttle.js';
import type { NewEvent } from '../events/log.js';
import { InvalidGrant, TooManyAttempts } from '../protocol/errors.js';
import { required } from '../protocol/params.js';
import { randomToken } from '../util/crypto.js';
import { merged } from '../util/merged.js';
import { userScopeCeiling } from './rbac.js';
import { inTokenTransaction } from './transaction.js';
import type { GrantHandler } from './types.js';
import { audienceApi, userScopes } from './user-scopes.js';
import { issueUserTokens } from './user-tokens.js';

/**
 * RFC 6749 §4.3, for trusted legacy applications that have it switched on: the same
 * throttling as the login page (accounts/throttle.ts, in the database), and one generic
 * invalid_grant, with the same argon2 work, for an unknown user, a wrong password and a
 * blocked user. No consent is asked: the application holds the password anyway.
 */
export const password: GrantHandler = {
  grantType: 'password',
  parameters: ['username', 'password', 'scope', 'audience', 'resource'],
  async handle({ deps, params, client, now, origin, event }) {
    const email = normalizeEmail(required(params, 'username'));
    const secret = required(params, 'password');
    const api = await audienceApi(deps, params);
    const scopes = userScopes(params.get('scope'), api);
    if (api) await userScopeCeiling(deps.storage, client.app, api);
    event.userName = email;
    const user = isEmail(email) ? await deps.storage.users.getByEmail(email) : null;
    const place = await signInPlace(deps.storage, email, user?.id ?? null, origin.ip);
    refuseWhenBusy(); // before the attempt is charged: a sign-in nobody checked is no failure
    const verdict = await reserveSignIn(deps.storage.loginAttempts, deps.config.login, place, now);
    if (user) event.userId = user.id;
    const base = merged(origin, {
      userName: email,
      ...(user ? { userId: user.id } : {}),
      clientId: client.app.clientId,
      clientName: client.app.name,
    } satisfies Partial<NewEvent>);
    // Each lock is its own event; a refusal is this request's event.
    for (const e of lockEvents(verdict, base)) await deps.events.record(e);
    if (verdict.wait > 0) {
      event.type = lockType(verdict.refusedBy);
      event.details = refusalDetails(verdict);
      throw new TooManyAttempts(verdict.wait);
    }
    const ok = await checkPassword(user?.passwordHash, secret);
    if (!ok || !user || user.blocked) {
      event.details = { reason: !user ? 'unknown user' : user.blocked ? 'blocked' : 'wrong password' };
      throw new InvalidGrant('wrong username or password');
    }
    await rehashIfOutdated(deps.storage.users, user, secret, deps.logger);
    // The attempt was charged on its own (it must count even when this fails); what the
    // success writes commits with the tokens (#14 §7). The right password is forgiven its
    // attempt even when the scope is refused; only tokens count as a sign-in (logins_count).
    return inTokenTransaction(deps, async (deps) => {
      await passwordProven(deps.storage, merged(place, { userId: user.id }), now);
      // As on the login page: who signs in remembered the password, so open reset links end.
      await deps.storage.accountTickets.supersede(user.id, 'password_reset', now);
      const tokens = await issueUserTokens(
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
      await countSignIn(deps.storage.users, user.id, now, origin.ip);
      return tokens;
    });
  },
};
