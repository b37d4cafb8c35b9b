import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { Admin } from './session.js';

/** The console's own rules: a constant, put in the page as is (escaped, `>` would become `&gt;`). */

/** The sections, each with the Management API permissions its page reads with (any one will do). */
/** Either lets the Management API's GET /logs answer. */
export const LOG_READERS = ['read:logs', 'read:logs_users'];

const NAV: [string, string, string[]][] = [
  ['/console', 'Dashboard', []],
  ['/console/applications', 'Applications', ['read:clients']],
  ['/console/apis', 'APIs', ['read:resource_servers']],
  ['/console/users', 'Users', ['read:users']],
  ['/console/roles', 'Roles', ['read:roles']],
  ['/console/logs', 'Logs', LOG_READERS],
  ['/console/keys', 'Signing keys', ['read:signing_keys']],
  ['/console/settings', 'Settings', ['read:tenant_settings']],
];

/** Whether the admin holds one of `scopes` (or none is needed). */
export const mayRead = (admin: Admin | undefined, scopes: readonly string[]): boolean =>
  scopes.length === 0 || scopes.some((s) => admin?.scopes.has(s));

/**
 * What the Management API asks of a write, as its route declares it: any one item will do, an
 * item being one permission or a list of permissions needed together.
 */
export type Needs = readonly (string | readonly string[])[];

const all = (item: string | readonly string[]) => (typeof item === 'string' ? [item] : item);

/** Whether the admin may make a write that `needs` these permissions. */
export const mayWrite = (admin: Admin | undefined, needs: Needs): boolean =>
  needs.some((item) => all(item).every((s) => admin?.scopes.has(s)));

/** The note that stands where the admin may not act: "Changing these settings needs the permission …". */
export function NeedsPermission(props: { to: string; needs: Needs }) {
  const many = props.needs.some((item) => all(item).length > 1);
  return (
    <p class="muted">
      {props.to} needs the permission{many ? 's' : ''}{' '}
      {props.needs.map((item, i) => (
        <>
          {i === 0 ? '' : many ? ', or ' : i === props.needs.length - 1 ? ' or ' : ', '}
          {all(item).map((s, j, list) => (
            <>
              {j === 0 ? '' : j === list.length - 1 ? ' and ' : ', '}
              <code>{s}</code>
            </>
          ))}
        </>
      ))}
      .
    </p>
  );
}

/**
 * A form that writes through the Management API, offered only to an admin holding what the API
 * asks of that write (`needs`); anyone else sees a note saying which permission it needs, and the
 * values the form shows (`values`, disabled and outside any form). A form the API refused
 * (`kept`: the permission was taken away meanwhile) is shown again, with what was typed.
 */
export function Permitted(props: {
  admin: Admin;
  needs: Needs;
  /** What the form does, as the note starts: "Changing these settings". */
  to: string;
  kept?: boolean;
  values?: Child;
  children: Child;
}) {
  if (props.kept || mayWrite(props.admin, props.needs)) return <>{props.children}</>;
  return (
    <>
      <NeedsPermission to={props.to} needs={props.needs} />
      {props.values === undefined ? null : <fieldset disabled>{props.values}</fieldset>}
    </>
  );
}

/**
 * A section's fields saved by one button (an application's, an API's or a user's settings), as
 * `Permitted` offers it: the form, or the note and the fields read-only. `disabled` puts the
 * fields and the button in a fieldset that may be switched off (Sesame's own application).
 */
export function FieldsForm(props: {
  admin: Admin;
  needs: Needs;
  to: string;
  kept?: boolean;
  action: string;
  button: string;
  disabled?: boolean;
  children: Child;
}) {
  const body = (
    <>
      {props.children}
      <button type="submit">{props.button}</button>
    </>
  );
  return (
    <Permitted
      admin={props.admin}
      needs={props.needs}
      to={props.to}
      kept={props.kept}
      values={props.children}
    >
      <form method="post" action={props.action}>
        <Csrf admin={props.admin} />
        {props.disabled === undefined ? body : <fieldset disabled={props.disabled}>{body}</fieldset>}
      </form>
    </Permitted>
  );
}

/**
 * Headers of every console page: a strict CSP (the console's own script and style files, nothing
 * inline, no framing, forms only to itself), no caching.
 */
export function consoleHeaders(): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

interface Frame {
  title: string;
  admin?: Admin;
  /** The path of the section, for the navigation's current page. */
  section?: string;
  flash?: string;
  children: Child;
}

function Shell(props: Frame) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta
          name="htmx-config"
          content='{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0,"refreshOnHistoryMiss":true,"responseHandling":[{"code":"204","swap":false},{"code":"[234]..","swap":true}]}'
        />
        <title>{`${props.title} · Sesame Console`}</title>
        <link rel="stylesheet" href="/console/assets/pico.min.css" />
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/htmx.min.js" defer />
        <script src="/console/assets/console.js" defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="container">
          <nav class="console">
            <ul>
              <li>
                <a href="/console">Sesame</a>
              </li>
            </ul>
            {props.admin ? (
              <ul>
                <li class="muted">{props.admin.user.email}</li>
                <li>
                  <form method="post" action="/console/logout" class="inline">
                    <input type="hidden" name="csrf" value={props.admin.csrf} />
                    <button type="submit" class="secondary outline">
                      Sign out
                    </button>
                  </form>
                </li>
              </ul>
            ) : null}
          </nav>
          {props.admin ? (
            <nav class="console" aria-label="Sections">
              <ul>
                {NAV.filter(([, , scopes]) => mayRead(props.admin, scopes)).map(([href, label]) => (
                  <li>
                    <a href={href} {...(props.section === href ? { 'aria-current': 'page' } : {})}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
        </header>
        <main class="container" id="main" tabindex={-1}>
          {props.flash ? (
            <p class="flash" role="status">
              {props.flash}
            </p>
          ) : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** Renders a console page with its headers. */
export function consolePage(c: Context, frame: Frame, status = 200): Response {
  const html = `<!doctype html>${Shell(frame).toString()}`;
  return c.newResponse(html, status as 200, consoleHeaders());
}

/** A button that copies the value of the input `id` (shown only where script runs). */
export const CopyButton = (props: { id: string; label?: string }) => (
  <button type="button" class="secondary outline inline" data-copy={props.id} hidden>
    {props.label ?? 'Copy'}
  </button>
);

/** The hidden CSRF field of every console form. */
export const Csrf = (props: { admin: Admin }) => <input type="hidden" name="csrf" value={props.admin.csrf} />;

/** A message under a form field, when the API's answer named that field. */
export function FieldError(props: { error?: { field?: string; message: string } | undefined; name: string }) {
  if (!props.error || props.error.field !== props.name) return null;
  return (
    <p class="field-error" id={`${props.name}-error`} role="alert">
      {props.error.message}
    </p>
  );
}

/** The API's message above a form, when it names no field of it. */
export function FormError(props: {
  error?: { field?: string; message: string } | undefined;
  fields: string[];
}) {
  if (!props.error || (props.error.field && props.fields.includes(props.error.field))) return null;
  return (
    <p class="alert" role="alert">
      {props.error.message}
    </p>
  );
}

/**
 * The message a redirect after a change asked for, by its key in `messages`: never text from the
 * URL, which anyone could write into a link that shows it in the console's status box.
 */
export function flashOf(c: Context, messages: ReadonlyMap<string, string>): { flash?: string } {
  const message = messages.get(c.req.query('flash') ?? '');
  return message ? { flash: message } : {};
}

/** The page of a list the link asks for (`?page=`, from 0): a whole number the Management API takes. */
export function pageOf(c: Context): number {
  const n = Math.floor(Number(c.req.query('page') ?? 0));
  return Number.isFinite(n) ? Math.min(Math.max(0, n), 1_000_000) : 0;
}

/**
 * A number field's value: a number when it is one (digits, with decimals), else as typed, so the
 * Management API refuses it naming the field (never a NaN sent on as null, which would reset it).
 */
export const numberField = (form: URLSearchParams, name: string): number | string => {
  const value = (form.get(name) ?? '').trim();
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
};
