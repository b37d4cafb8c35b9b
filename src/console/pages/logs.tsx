import type { LogView } from '../../admin/logs.js';
import { consolePage, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import type { ConsoleRouter } from '../router.js';
import type { Admin } from '../session.js';

/** A log event as the Management API returns it. */
export type { LogView };

/** A table of log events, each linking to its detail. */
export function LogTable(props: { events: LogView[] }) {
  if (props.events.length === 0) return <p class="muted">No events.</p>;
  return (
    <table class="striped">
      <thead>
        <tr>
          <th>When</th>
          <th>Type</th>
          <th>Description</th>
          <th>User</th>
          <th>Application</th>
          <th>IP</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr>
            <td>
              <a href={`/console/logs/${encodeURIComponent(e.log_id)}`}>
                {e.date.replace('T', ' ').slice(0, 19)}
              </a>
            </td>
            <td>
              <code>{e.type}</code>
            </td>
            <td>{e.description}</td>
            <td>
              {e.user_id ? (
                <a href={`/console/users/${encodeURIComponent(e.user_id)}`}>{e.user_name ?? e.user_id}</a>
              ) : (
                ''
              )}
            </td>
            <td>{e.client_name ?? e.client_id ?? ''}</td>
            <td>{e.ip ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const quote = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

/** The search a filter form asks for, in the API's syntax. */
function searchOf(f: { type?: string; user?: string; client?: string; from?: string; to?: string }): string {
  const terms: string[] = [];
  if (f.type) terms.push(`type:${quote(f.type)}`);
  if (f.user) terms.push(`user_id:${quote(f.user)}`);
  if (f.client) terms.push(`client_id:${quote(f.client)}`);
  if (f.from || f.to) terms.push(`date:[${f.from || '*'} TO ${f.to || '*'}]`);
  return terms.join(' AND ');
}

/** The id of the user with `email`, or an ApiError saying there is none. */
async function userOf(admin: Admin, email: string): Promise<string> {
  const found = await admin.api.get<{ user_id: string }[]>(
    `/users-by-email?email=${encodeURIComponent(email)}`,
  );
  if (!found[0]) throw new ApiError(400, `No user with the email ${email}.`);
  return found[0].user_id;
}

/** /console/logs: filter by type, user, application and day; one event in full. */
export function logPages(router: ConsoleRouter): void {
  router.get('/logs', async (c, admin) => {
    const f = {
      type: c.req.query('type')?.trim(),
      user: c.req.query('user')?.trim(),
      client: c.req.query('client')?.trim(),
      from: c.req.query('from')?.trim(),
      to: c.req.query('to')?.trim(),
    };
    const page = pageOf(c);
    let error: string | undefined;
    let events: LogView[] = [];
    let total = 0;
    try {
      if (f.from && f.to && f.from > f.to) throw new ApiError(400, 'From is after To: no day is in between.');
      // an email names the person it belongs to (as the CLI's --user does)
      const userId = f.user?.includes('@') ? await userOf(admin, f.user) : f.user;
      const q = searchOf({ ...f, user: userId });
      const path = `/logs?per_page=50&page=${page}&include_totals=true${q ? `&q=${encodeURIComponent(q)}` : ''}`;
      const answer = await admin.api.get<{ logs: LogView[]; total: number }>(path);
      events = answer.logs;
      total = answer.total;
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 400 && err.status !== 403)) throw err;
      error = err.message;
    }
    const pageAt = (n: number) =>
      new URLSearchParams({ ...Object.fromEntries(Object.entries(f).filter(([, v]) => v)), page: String(n) });
    return consolePage(c, {
      title: 'Logs',
      admin,
      section: '/console/logs',
      children: (
        <>
          <h1>Logs</h1>
          <form method="get" action="/console/logs" class="row">
            <label>
              Type <input name="type" value={f.type ?? ''} placeholder="s, fp, seacft, sapi…" />
            </label>
            <label>
              User (id or email) <input name="user" value={f.user ?? ''} />
            </label>
            <label>
              Application (client id) <input name="client" value={f.client ?? ''} />
            </label>
            <label>
              From <input name="from" type="date" value={f.from ?? ''} />
            </label>
            <label>
              To <input name="to" type="date" value={f.to ?? ''} />
            </label>
            <button type="submit">Filter</button>
          </form>
          {error ? (
            <p class="alert" role="alert">
              {error}
            </p>
          ) : null}
          <p class="muted">{total} events</p>
          <LogTable events={events} />
          <p class="links">
            {page > 0 ? <a href={`/console/logs?${pageAt(page - 1)}`}>Newer events</a> : null}{' '}
            {total > (page + 1) * 50 ? <a href={`/console/logs?${pageAt(page + 1)}`}>Older events</a> : null}
          </p>
        </>
      ),
    });
  });

  router.get('/logs/:id', async (c, admin) => {
    const e = await admin.api.get<LogView>(`/logs/${encodeURIComponent(c.req.param('id') ?? '')}`);
    const { details, ...fields } = e;
    return consolePage(c, {
      title: e.description ? `${e.type}: ${e.description}` : `Log event ${e.type}`,
      admin,
      section: '/console/logs',
      children: (
        <>
          <h1>
            <code>{e.type}</code> {e.description}
          </h1>
          <table>
            <tbody>
              {Object.entries(fields).map(([k, v]) => (
                <tr>
                  <th scope="row">{k}</th>
                  <td>{String(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Details</h2>
          <pre>{JSON.stringify(details, null, 2)}</pre>
        </>
      ),
    });
  });
}
