import type { Child } from 'hono/jsx';
import {
  Csrf,
  consolePage,
  FieldError,
  FormError,
  flashOf,
  mayWrite,
  type Needs,
  NeedsPermission,
  Permitted,
  pageOf,
} from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import {
  type AppData,
  type AppType,
  appPath,
  CLIENTS_DELETE,
  CLIENTS_UPDATE,
  type ClientView,
  type Ctx,
  enc,
  type GrantView,
  idParam,
  invalid,
  orShow,
  patchOf,
  showApplication,
  TYPE_LABELS,
  typed,
} from './application.js';
import { QuickStart, Secret, ShownOnce, secretKey } from './application-quick-start.js';

const SECTION = '/console/applications';
const PER_PAGE = 50;
const page = (c: Ctx, admin: Admin, title: string, children: Child, status = 200) =>
  consolePage(c, { title, admin, section: SECTION, children }, status);

/** The four types as "Create application" offers them, with what each is for. */
const TYPES: [string, AppType, string][] = [
  ['web', 'regular_web', 'A server-side web app (Node.js, Java, PHP…): it keeps a secret.'],
  ['spa', 'spa', 'A JavaScript app in the browser (React, Vue…): public, with PKCE.'],
  ['native', 'native', 'A mobile, desktop, TV or command-line app: public, PKCE or the device flow.'],
  ['m2m', 'non_interactive', 'A service or script that calls your APIs as itself (client credentials).'],
];

function NewForm(props: { admin: Admin; form: URLSearchParams; error: ApiError | undefined }) {
  const { form, error } = props;
  return (
    <form method="post" action={`${SECTION}/new`}>
      <h1>Create application</h1>
      <Csrf admin={props.admin} />
      <FormError error={error} fields={['name', 'app_type']} />
      <label>
        Name{' '}
        <input
          name="name"
          value={form.get('name') ?? ''}
          required
          maxlength={255}
          {...invalid(error, 'name')}
        />
      </label>
      <FieldError error={error} name="name" />
      <fieldset {...invalid(error, 'app_type')}>
        <legend>Type</legend>
        {TYPES.map(([value, appType, help]) => (
          <label>
            <input type="radio" name="type" value={value} checked={(form.get('type') ?? 'web') === value} />{' '}
            <strong>{TYPE_LABELS[appType]}</strong> <small class="muted">{help}</small>
          </label>
        ))}
      </fieldset>
      <FieldError error={error} name="app_type" />
      <button type="submit">Create</button> <a href={SECTION}>Cancel</a>
    </form>
  );
}

/** What the Management API asks of creating an application. */
const CLIENTS_CREATE = ['create:clients'];

/** The confirmation steps: what the button will do, and its own POST form, and what it needs. */
const CONFIRM: Record<string, { button: string; text: string; needs: Needs; to: string }> = {
  'rotate-secret': {
    button: 'Rotate secret',
    text: 'The current secret stops working at once.',
    needs: CLIENTS_UPDATE,
    to: 'Rotating its secret',
  },
  delete: {
    button: 'Delete application',
    text: 'Its grants and consents go too; its tokens stop working.',
    needs: CLIENTS_DELETE,
    to: 'Deleting this application',
  },
};
const FLASH = new Map([
  ['saved', 'Saved.'],
  ['granted', 'API allowed.'],
  ['revoked', 'API removed.'],
  ['deleted', 'Application deleted.'],
  ['created', 'Application created.'],
  ['rotated', 'Secret rotated: the old one no longer works.'],
]);

/**
 * /console/applications: the list; "Create application" (its answer shows the secret and a quick start
 * once); each application's page; rotating its secret and deleting it, each after a confirmation step.
 */
export function applicationPages(router: ConsoleRouter): void {
  router.get('/applications', async (c, admin) => {
    const n = pageOf(c);
    const { clients, total } = await admin.api.get<{ clients: ClientView[]; total: number }>(
      `/clients?per_page=${PER_PAGE}&page=${n}&include_totals=true`,
    );
    const children = (
      <>
        <h1>Applications</h1>
        <Permitted admin={admin} needs={CLIENTS_CREATE} to="Creating an application">
          <form method="get" action={`${SECTION}/new`}>
            <button type="submit">Create application</button>
          </form>
        </Permitted>
        <table class="striped">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Client id</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((cl) => (
              <tr>
                <td>
                  <a href={appPath(cl.client_id)}>{cl.name}</a>
                </td>
                <td>{TYPE_LABELS[cl.app_type]}</td>
                <td>
                  <code>{cl.client_id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">
          {total} {total === 1 ? 'application' : 'applications'}.{' '}
          {n > 0 ? <a href={`${SECTION}?page=${n - 1}`}>Previous page</a> : null}{' '}
          {total > (n + 1) * PER_PAGE ? <a href={`${SECTION}?page=${n + 1}`}>Next page</a> : null}
        </p>
      </>
    );
    return consolePage(c, { title: 'Applications', admin, section: SECTION, children, ...flashOf(c, FLASH) });
  });

  const newPage = (c: Ctx, admin: Admin, form: URLSearchParams, error?: ApiError) =>
    page(
      c,
      admin,
      'Create application',
      <Permitted admin={admin} needs={CLIENTS_CREATE} to="Creating an application" kept={error !== undefined}>
        <NewForm admin={admin} form={form} error={error} />
      </Permitted>,
      error?.status,
    );
  router.get('/applications/new', async (c, admin) => newPage(c, admin, new URLSearchParams()));
  router.post('/applications/new', (c, admin, form) => {
    const type = form.get('type') ?? '';
    const body = { name: form.get('name') ?? '', app_type: TYPES.find(([v]) => v === type)?.[1] ?? type };
    return orShow(
      async () => {
        const created = await admin.api.post<ClientView>('/clients', body);
        if (created.client_secret) admin.once.keep(secretKey(created.client_id), created.client_secret);
        return seeOther(c, `${appPath(created.client_id)}?flash=created`);
      },
      (error) => newPage(c, admin, form, error),
    );
  });

  router.get('/applications/:id', (c, admin) => {
    const id = idParam(c);
    const flash = flashOf(c, FLASH);
    const after = c.req.query('flash');
    if (after !== 'created' && after !== 'rotated') return showApplication(c, admin, id, flash);
    const secret = admin.once.take(secretKey(id));
    const top =
      after === 'created'
        ? (data: AppData) => <QuickStart admin={admin} data={data} secret={secret} />
        : (data: AppData) =>
            secret ? (
              <Secret secret={secret} label="New client secret" />
            ) : (
              <ShownOnce admin={admin} client={data.client} />
            );
    return showApplication(c, admin, id, { top, ...flash });
  });
  router.post('/applications/:id', async (c, admin, form) => {
    const id = idParam(c);
    const client = await admin.api.get<ClientView>(`/clients/${enc(id)}`);
    return orShow(
      async () => {
        await admin.api.patch(`/clients/${enc(id)}`, patchOf(typed(client, form), client));
        return seeOther(c, `${appPath(id)}?flash=saved`);
      },
      (error) => showApplication(c, admin, id, { form, error }, error.status),
    );
  });
  router.post('/applications/:id/grants', (c, admin, form) => {
    const id = idParam(c);
    const body = { client_id: id, audience: form.get('audience'), scope: form.getAll('scope') };
    const subject = { subject_type: form.get('subject_type') ?? undefined };
    return orShow(
      async () => {
        await admin.api.post('/client-grants', { ...body, ...subject });
        return seeOther(c, `${appPath(id)}?flash=granted#access`);
      },
      (grantError) => showApplication(c, admin, id, { grantError }, grantError.status),
    );
  });
  router.post('/applications/:id/grants/:grant/remove', async (c, admin) => {
    const id = idParam(c);
    const grant = await admin.api.get<GrantView>(`/client-grants/${enc(idParam(c, 'grant'))}`);
    if (grant.client_id !== id) throw new ApiError(404, `client grant ${grant.id} is not one of ${id}`);
    await admin.api.delete(`/client-grants/${enc(grant.id)}`);
    return seeOther(c, `${appPath(id)}?flash=revoked#access`);
  });

  for (const [action, q] of Object.entries(CONFIRM)) {
    router.get(`/applications/:id/${action}`, async (c, admin) => {
      const id = idParam(c);
      const cl = await admin.api.get<ClientView>(`/clients/${enc(id)}`);
      // Sesame's own application (the console) is neither deleted nor given a new secret
      if (cl.is_system)
        return page(
          c,
          admin,
          q.button,
          <article>
            <h1>{cl.name}</h1>
            <p>This application is part of Sesame: it cannot be changed or deleted.</p>
            <a href={appPath(id)}>Back to the application</a>
          </article>,
        );
      // opened by URL without the permission: what it needs, and no button the API would refuse
      if (!mayWrite(admin, q.needs))
        return page(
          c,
          admin,
          q.button,
          <article>
            <h1>{cl.name}</h1>
            <NeedsPermission to={q.to} needs={q.needs} />
            <a href={appPath(id)}>Back to the application</a>
          </article>,
        );
      const confirm = (
        <form method="post" action={`${appPath(id)}/${action}`}>
          <h1>
            {q.button}: {cl.name}?
          </h1>
          <p>{q.text}</p>
          <Csrf admin={admin} />
          <button type="submit" class="secondary">
            {q.button}
          </button>{' '}
          <a href={appPath(id)}>Cancel</a>
        </form>
      );
      return page(c, admin, q.button, confirm);
    });
  }
  router.post('/applications/:id/rotate-secret', (c, admin) => {
    const id = idParam(c);
    return orShow(
      async () => {
        const secret = (await admin.api.post<ClientView>(`/clients/${enc(id)}/rotate-secret`)).client_secret;
        if (secret) admin.once.keep(secretKey(id), secret);
        return seeOther(c, `${appPath(id)}?flash=rotated`);
      },
      (error) => showApplication(c, admin, id, { error }, error.status),
    );
  });
  router.post('/applications/:id/delete', async (c, admin) => {
    await admin.api.delete(`/clients/${enc(idParam(c))}`);
    return seeOther(c, `${SECTION}?flash=deleted`);
  });
}
