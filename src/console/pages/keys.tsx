import { Csrf, consolePage, flashOf, mayWrite, NeedsPermission, Permitted } from '../layout.js';
import { type ConsoleRouter, seeOther } from '../router.js';

interface KeyView {
  kid: string;
  alg: string;
  current: boolean;
  next: boolean;
  previous: boolean;
  revoked: boolean;
  current_since: string;
  current_until?: string;
  published_until?: string;
  revoked_at?: string;
  fingerprint: string;
}

const day = (iso?: string) => (iso ? iso.replace('T', ' ').slice(0, 16) : '');
const status = (k: KeyView) =>
  k.revoked ? 'revoked' : k.current ? 'current' : k.next ? 'next' : k.previous ? 'previous' : 'expired';

/** What the Management API asks of rotating the keys and of revoking one. */
const ROTATE = ['create:signing_keys'];
const REVOKE = ['update:signing_keys'];

const FLASH = new Map([
  ['rotated', 'New keys published; they sign after the activation delay.'],
  ['revoked', 'The key was revoked.'],
]);

/** /console/keys: the signing keys (current, next, previous), rotate, and revoke with a warning. */
export function keyPages(router: ConsoleRouter): void {
  router.get('/keys', async (c, admin) => {
    const keys = await admin.api.get<KeyView[]>('/keys/signing');
    const mayRevoke = mayWrite(admin, REVOKE);
    return consolePage(c, {
      title: 'Signing keys',
      admin,
      section: '/console/keys',
      ...flashOf(c, FLASH),
      children: (
        <>
          <h1>Signing keys</h1>
          <p class="muted">
            Rotating publishes a new key for every algorithm now; it starts signing after the activation
            delay, and the key it replaces stays published until the tokens it signed expire. Nothing breaks.
          </p>
          <Permitted admin={admin} needs={ROTATE} to="Rotating them">
            <form method="post" action="/console/keys/rotate">
              <Csrf admin={admin} />
              <button type="submit">Rotate keys</button>
            </form>
          </Permitted>
          {mayRevoke ? null : <NeedsPermission to="Revoking one" needs={REVOKE} />}
          <table class="striped">
            <thead>
              <tr>
                <th>Key id</th>
                <th>Algorithm</th>
                <th>Status</th>
                <th>Signs from</th>
                <th>Published until</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr>
                  <td>
                    <code>{k.kid}</code>
                  </td>
                  <td>{k.alg}</td>
                  <td>{status(k)}</td>
                  <td>{day(k.current_since)}</td>
                  <td>{day(k.revoked_at ?? k.published_until)}</td>
                  <td>
                    {k.revoked || !mayRevoke ? (
                      ''
                    ) : (
                      <a href={`/console/keys/${encodeURIComponent(k.kid)}/revoke`}>Revoke…</a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ),
    });
  });

  router.post('/keys/rotate', async (c, admin) => {
    await admin.api.post('/keys/signing/rotate');
    return seeOther(c, '/console/keys?flash=rotated');
  });

  router.get('/keys/:kid/revoke', async (c, admin) => {
    const k = await admin.api.get<KeyView>(`/keys/signing/${encodeURIComponent(c.req.param('kid') ?? '')}`);
    return consolePage(c, {
      title: 'Revoke a signing key',
      admin,
      section: '/console/keys',
      children: (
        <article>
          <h1>
            Revoke key <code>{k.kid}</code> ({k.alg}, {status(k)})?
          </h1>
          <p class="alert" role="alert">
            Every token this key signed stops verifying at once: access tokens, ID tokens and logout hints,
            for every application and API that checks them against the JWKS. People and machines holding them
            must get new ones.
            {k.current ? ' It signs now: a new key takes its place immediately.' : ''}
          </p>
          <Permitted admin={admin} needs={REVOKE} to="Revoking it">
            <form method="post" action={`/console/keys/${encodeURIComponent(k.kid)}/revoke`}>
              <Csrf admin={admin} />
              <button type="submit" class="secondary">
                Revoke the key
              </button>{' '}
              <a href="/console/keys">Cancel</a>
            </form>
          </Permitted>
        </article>
      ),
    });
  });

  router.post('/keys/:kid/revoke', async (c, admin) => {
    const kid = c.req.param('kid') ?? '';
    await admin.api.call('PUT', `/keys/signing/${encodeURIComponent(kid)}/revoke`);
    return seeOther(c, '/console/keys?flash=revoked');
  });
}
