import type { DailyStats } from '../../admin/stats.js';
import { consolePage, LOG_READERS, mayRead } from '../layout.js';
import type { ManagementCalls } from '../management.js';
import type { ConsoleRouter } from '../router.js';
import { LogTable, type LogView } from './logs.js';

async function total(api: ManagementCalls, path: string): Promise<number> {
  const sep = path.includes('?') ? '&' : '?';
  const page = await api.get<{ total: number }>(`${path}${sep}include_totals=true&per_page=1`);
  return page.total;
}

/** Sign-ins and failures of each of the last 30 days (UTC), oldest first: one call of /stats/daily. */
async function perDay(api: ManagementCalls) {
  const days = await api.get<DailyStats[]>('/stats/daily');
  return days.map((d) => ({ day: Date.parse(d.date), ok: d.logins, failed: d.failed_logins }));
}

/** Sign-ins (and, in red, failures) per day as an SVG bar chart: no script, no inline style. */
function Chart(props: { days: { day: number; ok: number; failed: number }[] }) {
  const max = Math.max(1, ...props.days.map((d) => d.ok + d.failed));
  const w = 12;
  return (
    <svg
      viewBox={`0 0 ${props.days.length * w} 100`}
      role="img"
      preserveAspectRatio="none"
      aria-label="Sign-ins and failures per day, last 30 days"
      width="100%"
      height="140"
    >
      {props.days.map((d, i) => {
        const okH = (d.ok / max) * 100;
        const failH = (d.failed / max) * 100;
        const date = new Date(d.day).toISOString().slice(0, 10);
        return (
          <g>
            <title>{`${date}: ${d.ok} sign-ins, ${d.failed} failures`}</title>
            <rect x={i * w + 1} y={100 - okH - failH} width={w - 2} height={okH} fill="#1095c1" />
            <rect x={i * w + 1} y={100 - failH} width={w - 2} height={failH} fill="#c62828" />
          </g>
        );
      })}
    </svg>
  );
}

/** A count on the dashboard, linking to its section. */
function Count(props: { href: string; label: string; id: string; n: number | null }) {
  if (props.n === null) return null;
  return (
    <article>
      <a href={props.href}>{props.label}</a>
      <h2 id={props.id}>{props.n}</h2>
    </article>
  );
}

/**
 * GET /console: counts, sign-ins and failures per day for 30 days, the latest events; each part
 * only for an admin whose permissions let them read it.
 */
export function dashboardPages(router: ConsoleRouter): void {
  router.get('/', async (c, admin) => {
    const { api } = admin;
    const may = <T,>(scopes: string[], read: () => Promise<T>) =>
      mayRead(admin, scopes) ? read() : Promise.resolve(null);
    const [apps, apis, users, days, latest] = await Promise.all([
      may(['read:clients'], () => total(api, '/clients')),
      may(['read:resource_servers'], () => total(api, '/resource-servers')),
      may(['read:users'], () => total(api, '/users')),
      may(['read:stats'], () => perDay(api)),
      may(LOG_READERS, () => api.get<LogView[]>('/logs?per_page=10')),
    ]);
    const signIns = days?.reduce((n, d) => n + d.ok, 0);
    const failures = days?.reduce((n, d) => n + d.failed, 0);
    const nothing = apps === null && apis === null && users === null && days === null && latest === null;
    return consolePage(c, {
      title: 'Dashboard',
      admin,
      section: '/console',
      children: (
        <>
          <h1>Dashboard</h1>
          {nothing ? (
            <p>
              Your permissions do not include what this page shows (applications, APIs, users, log events).
              The sections above are the ones they let you use.
            </p>
          ) : null}
          <div class="row">
            <Count href="/console/applications" label="Applications" id="count-applications" n={apps} />
            <Count href="/console/apis" label="APIs" id="count-apis" n={apis} />
            <Count href="/console/users" label="Users" id="count-users" n={users} />
          </div>
          {days ? (
            <article>
              <header>
                Last 30 days: <strong>{signIns}</strong> sign-ins, <strong>{failures}</strong> failed
              </header>
              <Chart days={days} />
            </article>
          ) : null}
          {latest ? (
            <>
              <h2>Latest events</h2>
              <LogTable events={latest} />
              <p>
                <a href="/console/logs">All log events</a>
              </p>
            </>
          ) : null}
        </>
      ),
    });
  });
}
