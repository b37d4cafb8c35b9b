// The application page's section of APIs it may call (its client grants), and the checkbox the
// page's forms share.
import type { Child } from 'hono/jsx';
import { Csrf, FormError, mayRead, mayWrite, NeedsPermission } from '../layout.js';
import type { ApiError } from '../management.js';
import type { Admin } from '../session.js';
import type { AppData } from './application.js';

/** The permissions the application page reads its client grants and the APIs with. */
export const GRANTS_READ = 'read:client_grants';
export const APIS_READ = 'read:resource_servers';
/** What the Management API asks of allowing an API (POST) and of removing one (DELETE). */
const GRANT = ['create:client_grants'];
const UNGRANT = ['delete:client_grants'];

/** A labelled checkbox. */
export const Check = (p: { name: string; value?: string; checked?: boolean; children: Child }) => (
  <label>
    <input type="checkbox" name={p.name} value={p.value ?? 'on'} checked={p.checked ?? false} /> {p.children}
  </label>
);

const CLIENT_NOTE = 'It gets client-credentials tokens for these APIs, with at most these scopes.';
const USER_NOTE = "For APIs that require a client grant: the most its people's tokens may hold.";

/** Its client grants with their scopes, each with Remove; per other API, a form to allow it. */
export function Access(props: { admin: Admin; data: AppData; error: ApiError | undefined; path: string }) {
  const { client: cl, grants, apis } = props.data;
  const path = props.path;
  if (grants === null)
    return (
      <section aria-labelledby="access">
        <h2 id="access">APIs this application may call</h2>
        <NeedsPermission to="Reading them" needs={[GRANTS_READ]} />
      </section>
    );
  const nameOf = (aud: string) => apis.find((a) => a.identifier === aud)?.name ?? aud;
  const subject = cl.grant_types.includes('client_credentials') ? 'client' : 'user';
  const [mayGrant, mayUngrant] = [mayWrite(props.admin, GRANT), mayWrite(props.admin, UNGRANT)];
  const others = apis.filter((a) => !grants.some((g) => g.audience === a.identifier));
  return (
    <section aria-labelledby="access">
      <h2 id="access">APIs this application may call</h2>
      <p class="muted">{subject === 'client' ? CLIENT_NOTE : USER_NOTE}</p>
      <FormError error={props.error} fields={[]} />
      {grants.length === 0 ? <p>None yet.</p> : null}
      {grants.map((g) => {
        const cells = (
          <>
            <span>
              <strong>{nameOf(g.audience)}</strong> <code>{g.audience}</code>
            </span>
            <span>{g.scope.join(' ') || '(no scopes)'}</span>
          </>
        );
        if (!mayUngrant) return <div class="row">{cells}</div>;
        return (
          <form method="post" action={`${path}/grants/${encodeURIComponent(g.id)}/remove`} class="row">
            <Csrf admin={props.admin} />
            {cells}
            <button type="submit" class="secondary outline" aria-label={`Remove ${nameOf(g.audience)}`}>
              Remove
            </button>
          </form>
        );
      })}
      {grants.length === 0 || mayUngrant ? null : <NeedsPermission to="Removing one" needs={UNGRANT} />}
      {mayRead(props.admin, [APIS_READ]) ? null : (
        <NeedsPermission to="Allowing it another API" needs={[APIS_READ]} />
      )}
      {others.length === 0 || mayGrant ? null : (
        <NeedsPermission to="Allowing it another API" needs={GRANT} />
      )}
      {(mayGrant ? others : []).map((api) => (
        <details>
          <summary>
            Allow {api.name} <code>{api.identifier}</code>
          </summary>
          <form method="post" action={`${path}/grants`}>
            <Csrf admin={props.admin} />
            <input type="hidden" name="audience" value={api.identifier} />
            <input type="hidden" name="subject_type" value={subject} />
            <fieldset>
              <legend>Scopes</legend>
              {api.scopes.map((s) => (
                <Check name="scope" value={s.value}>
                  <code>{s.value}</code> {s.description}
                </Check>
              ))}
            </fieldset>
            <button type="submit">Allow {api.name}</button>
          </form>
        </details>
      ))}
    </section>
  );
}
