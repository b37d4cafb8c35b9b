import type { Context } from 'hono';
import { type AttemptKeys, attemptSucceeded, reserveAttempt } from '../../accounts/throttle.js';
import { entitle } from '../../grants/rbac.js';
import { clientIp, clientOrigin } from '../../http/client-ip.js';
import type { AppEnv, Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { PageError, page } from '../../http/page.js';
import { formatUserCode, normalizeUserCode } from '../../protocol/user-code.js';
import type { DeviceCodeRecord, SessionRecord } from '../../storage/types.js';
import { ActivatePage, DeviceConfirmPage, DeviceDonePage } from '../../ui/pages.js';
import { describeScopes } from '../../ui/scopes.js';
import { throttleAddress } from '../../util/ip.js';
import { checkCsrf } from '../authorize/interaction.js';
import { signedInOrLogin } from '../authorize/session.js';

const INVALID = 'That code is not valid or has expired. Check the code on your device.';

/** The signed-in session, or a 303 to the login page that comes back here. */
function signedIn(deps: Deps, cookies: Cookies, c: Context) {
  const code = c.req.query('user_code');
  const returnTo = code ? `/activate?user_code=${encodeURIComponent(code)}` : '/activate';
  return signedInOrLogin(deps, cookies, c, returnTo, 'activate');
}

/**
 * Keys counted for wrong codes: the signed-in account and the IP address (RFC 8628 §5.1), an IPv6
 * address by its /64 as every other limit counts it (#14 §1).
 */
const attemptKeys = (session: SessionRecord, ip: string): AttemptKeys => ({
  account: `device-account:${session.userId}`,
  ip: `device-ip:${throttleAddress(ip)}`,
});

/**
 * The pending device code the person typed, counted against their account and IP (RFC 8628
 * §5.1): a locked session or IP gets a 429 page; a wrong code counts as a failure and is null.
 */
async function enteredCode(
  deps: Deps,
  c: Context<AppEnv>,
  session: SessionRecord,
  input: string | undefined,
): Promise<DeviceCodeRecord | null> {
  const keys = attemptKeys(session, clientIp(c));
  const now = deps.clock.now();
  const wait = await reserveAttempt(deps.storage.loginAttempts, deps.config.login, keys, now);
  if (wait > 0) {
    throw new PageError(
      'Too many attempts',
      'Too many wrong codes. Wait a while and try again.',
      429,
      { 'Retry-After': String(wait) },
      { href: '/activate', text: 'Enter a code' },
    );
  }
  const record = await pendingCode(deps, input);
  if (record) await attemptSucceeded(deps.storage.loginAttempts, keys, { clearAccount: false });
  return record;
}

async function pendingCode(deps: Deps, input: string | undefined): Promise<DeviceCodeRecord | null> {
  const userCode = normalizeUserCode(input ?? '');
  const record = userCode ? await deps.storage.deviceCodes.getByUserCode(userCode) : null;
  if (record?.status !== 'pending' || record.expiresAt <= deps.clock.now()) return null;
  return record;
}

/** GET /activate: sign in if needed, then enter (or confirm a prefilled) user code. */
export function activatePage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const s = await signedIn(deps, cookies, c);
    if (s.redirect) return s.redirect;
    const userCode = c.req.query('user_code');
    return page(c, (nonce) => ActivatePage({ nonce, csrf: s.csrf, ...(userCode ? { userCode } : {}) }));
  };
}

/**
 * POST /activate: CSRF checked; wrong codes are counted per session and IP and throttled
 * (429 page with Retry-After); a valid code shows the application and its scopes.
 */
export function activateSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const s = await signedIn(deps, cookies, c);
    if (s.redirect) return s.redirect;
    const params = c.get('params');
    checkCsrf(s.csrf, params.get('csrf'));
    const record = await enteredCode(deps, c, s.current.session, params.get('user_code'));
    if (!record) {
      const who = { userId: s.current.user.id, userName: s.current.user.email };
      await deps.events.record({ ...clientOrigin(c), ...who, type: 'fdeac' });
      return page(c, (nonce) => ActivatePage({ nonce, csrf: s.csrf, error: INVALID }), 400);
    }
    const app = await deps.storage.applications.get(record.clientId);
    const payload = record.payload as { scopes: string[]; audience?: string };
    // Only what this person may be granted is shown (RBAC, the API's access policy).
    const api = payload.audience ? await deps.storage.apis.getByIdentifier(payload.audience) : null;
    const entitled =
      app && api
        ? (await entitle(deps.storage, app, api, s.current.user.id, payload.scopes).catch(() => null))?.scopes
        : undefined;
    const { apiName, scopes } = await describeScopes(
      deps.storage.apis,
      payload.audience,
      entitled ?? payload.scopes,
    );
    return page(c, (nonce) =>
      DeviceConfirmPage({
        nonce,
        csrf: s.csrf,
        userCode: formatUserCode(record.userCode),
        appName: app?.name ?? 'An application',
        scopes,
        ...(apiName ? { apiName } : {}),
      }),
    );
  };
}

/** POST /activate/confirm: CSRF checked and throttled like /activate; Allow or Deny decides the code once. */
export function activateConfirm(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const s = await signedIn(deps, cookies, c);
    if (s.redirect) return s.redirect;
    const params = c.get('params');
    checkCsrf(s.csrf, params.get('csrf'));
    const record = await enteredCode(deps, c, s.current.session, params.get('user_code'));
    const approved = params.get('decision') === 'allow';
    const decided =
      record !== null &&
      (await deps.storage.deviceCodes.decide(record.userCode, {
        approved,
        userId: s.current.user.id,
        authTime: s.current.session.authTime,
      }));
    const event = { ...clientOrigin(c), userId: s.current.user.id, userName: s.current.user.email };
    if (!decided) {
      await deps.events.record({ ...event, type: 'fdeac' });
      return page(c, (nonce) => ActivatePage({ nonce, csrf: s.csrf, error: INVALID }), 400);
    }
    if (!approved) {
      const app = await deps.storage.applications.get(record.clientId);
      await deps.events.record({ ...event, type: 'fdecc', clientId: record.clientId, clientName: app?.name });
    }
    return page(c, (nonce) => DeviceDonePage({ nonce, approved }));
  };
}
