import type { Context } from 'hono';
import type { AppEnv } from '../../http/context.js';
import { consolePage, FieldError, FieldsForm, FormError, flashOf, numberField } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';

type Settings = Partial<
  Record<
    'friendly_name' | 'picture_url' | 'primary_color' | 'support_email' | 'support_url' | 'default_audience',
    string
  >
> & {
  session_lifetime?: number;
  idle_session_lifetime?: number;
  signup_enabled?: boolean;
  password_reset_ends_sessions?: boolean;
  account_deletion_enabled?: boolean;
};
type Problem = { field?: string; message: string; status: number };

/** What the Management API asks of saving them. */
const SETTINGS_UPDATE = ['update:tenant_settings'];

const TEXT: [keyof Settings, string, string][] = [
  ['friendly_name', 'Tenant name', 'text'],
  ['picture_url', 'Logo URL', 'url'],
  ['primary_color', 'Primary colour (#rrggbb)', 'text'],
  ['support_email', 'Support email', 'email'],
  ['support_url', 'Support URL', 'url'],
];
/** The switches of self-service accounts (#15). */
const CHECKS: ['signup_enabled' | 'password_reset_ends_sessions' | 'account_deletion_enabled', string][] = [
  ['signup_enabled', 'People may sign up themselves'],
  ['password_reset_ends_sessions', 'A password reset signs the person out everywhere'],
  ['account_deletion_enabled', 'People may delete their own account'],
];
const HOURS: [keyof Settings, string][] = [
  ['session_lifetime', 'Session lifetime (hours)'],
  ['idle_session_lifetime', 'Idle session lifetime (hours)'],
];

function SettingsForm(props: {
  admin: Admin;
  s: Settings;
  apis: { identifier: string; name: string }[];
  error?: Problem;
}) {
  const { s, error } = props;
  const fields = (
    <>
      {TEXT.map(([name, label, type]) => (
        <>
          <label for={name}>{label}</label>
          <input id={name} name={name} type={type} value={String(s[name] ?? '')} />
          <FieldError error={error} name={name} />
        </>
      ))}
      <label for="default_audience">Default audience</label>
      <select id="default_audience" name="default_audience">
        <option value="">None</option>
        {/* The current default even when it is not among the APIs listed (the first 100): a save keeps it. */}
        {s.default_audience && !props.apis.some((a) => a.identifier === s.default_audience) ? (
          <option value={s.default_audience} selected>
            {s.default_audience}
          </option>
        ) : null}
        {props.apis.map((a) => (
          <option value={a.identifier} selected={a.identifier === s.default_audience}>
            {a.name} ({a.identifier})
          </option>
        ))}
      </select>
      <FieldError error={error} name="default_audience" />
      {HOURS.map(([name, label]) => (
        <>
          <label for={name}>{label}</label>
          <input
            id={name}
            name={name}
            type="number"
            min="0"
            step="any"
            value={s[name] === undefined ? '' : String(s[name])}
          />
          <FieldError error={error} name={name} />
        </>
      ))}
      {CHECKS.map(([name, label]) => (
        <label>
          <input type="checkbox" name={name} value="true" checked={s[name] === true} /> {label}
        </label>
      ))}
    </>
  );
  return (
    <>
      <FormError
        error={error}
        fields={[...TEXT.map((t) => t[0]), ...HOURS.map((h) => h[0]), 'default_audience']}
      />
      <FieldsForm
        admin={props.admin}
        needs={SETTINGS_UPDATE}
        to="Changing these settings"
        kept={error !== undefined}
        action="/console/settings"
        button="Save settings"
      >
        {fields}
      </FieldsForm>
    </>
  );
}

/**
 * /console/settings: the tenant's name, logo, colour, support contacts, default audience,
 * session lifetimes and the self-service switches.
 */
const FLASH = new Map([['saved', 'Settings saved.']]);

export function settingsPages(router: ConsoleRouter): void {
  const render = async (c: Context<AppEnv>, admin: Admin, s: Settings, error?: Problem) => {
    const apis = await admin.api.all<{ identifier: string; name: string }>('/resource-servers');
    return consolePage(
      c,
      {
        title: 'Settings',
        admin,
        section: '/console/settings',
        ...flashOf(c, FLASH),
        children: (
          <>
            <h1>Tenant settings</h1>
            <SettingsForm admin={admin} s={s} apis={apis} {...(error ? { error } : {})} />
          </>
        ),
      },
      error?.status ?? 200,
    );
  };
  router.get('/settings', async (c, admin) =>
    render(c, admin, await admin.api.get<Settings>('/tenants/settings')),
  );
  router.post('/settings', async (c, admin, form) => {
    const patch: Record<string, unknown> = {};
    for (const [name] of TEXT) patch[name] = form.get(name)?.trim() || null;
    patch.default_audience = form.get('default_audience') || null;
    const typed: Settings = Object.fromEntries(
      Object.entries(patch).filter(([, v]) => v !== null),
    ) as Settings;
    for (const [name] of CHECKS) {
      patch[name] = form.has(name);
      typed[name] = form.has(name);
    }
    for (const [name] of HOURS) {
      const v = form.get(name)?.trim() ? numberField(form, name) : null;
      patch[name] = v;
      if (v !== null) (typed as Record<string, unknown>)[name] = v;
    }
    // Only what the form changed: a value sent back as it was shown (a default included) is not
    // stored, so a default keeps following the configuration (and the idle lifetime the other).
    const shown = (await admin.api.get<Settings>('/tenants/settings')) as Record<string, unknown>;
    for (const [name, value] of Object.entries(patch))
      if ((shown[name] ?? null) === value) delete patch[name];
    try {
      await admin.api.patch('/tenants/settings', patch);
    } catch (err) {
      // a bad value, or the permission taken away since the page was shown: what was typed stays
      if (!(err instanceof ApiError) || (err.status !== 400 && err.status !== 403)) throw err;
      const problem = { message: err.message, status: err.status };
      return render(c, admin, typed, { ...problem, ...(err.field ? { field: err.field } : {}) });
    }
    return seeOther(c, '/console/settings?flash=saved');
  });
}
