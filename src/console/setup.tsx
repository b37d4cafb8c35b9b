import type { Context, Hono } from 'hono';
import { completeSetup, setupTokenValid } from '../admin/console.js';
import { isAdminError } from '../admin/errors.js';
import type { AppEnv, Deps } from '../http/context.js';
import { EmailInput } from '../ui/fields.js';
import { consolePage, FieldError, FormError } from './layout.js';
import { ApiError } from './management.js';
import { readConsoleForm, tooLargePage } from './router.js';

type Problem = { field?: string; message: string };

function SetupForm(props: {
  token: string;
  /** The configured shortest password (password.minLength). */
  minLength: number;
  email?: string;
  name?: string;
  error?: Problem;
}) {
  const fields = ['email', 'password', 'name'];
  return (
    <article>
      <h1>Create the first admin</h1>
      <p>
        This person will hold the Sesame Admin role: every permission of the console and the Management API.
      </p>
      <FormError error={props.error} fields={fields} />
      <form method="post" action="/console/setup">
        <input type="hidden" name="token" value={props.token} />
        <label for="email">Email</label>
        <EmailInput autocomplete="username" value={props.email} />
        <FieldError error={props.error} name="email" />
        <label for="name">Name</label>
        <input id="name" name="name" type="text" autocomplete="name" value={props.name ?? ''} />
        <FieldError error={props.error} name="name" />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          required
          minlength={props.minLength}
          autocomplete="new-password"
        />
        <FieldError error={props.error} name="password" />
        <button type="submit">Create admin</button>
      </form>
    </article>
  );
}

const expired = (c: Context) =>
  consolePage(
    c,
    {
      title: 'Setup link',
      children: (
        <article>
          <h1>This setup link no longer works</h1>
          <p>
            It was used already, it is over an hour old, or a newer one was made. Restart Sesame for a new
            link, or run <code>sesame admin create --email E</code> (it asks for the password).
          </p>
        </article>
      ),
    },
    400,
  );

/** /console/setup: the one-time link that creates the first admin (logged at start while there is none). */
export function setupRoutes(app: Hono<AppEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.get('/setup', async (c) => {
    const token = c.req.query('token');
    if (!(await setupTokenValid(storage, clock, token))) return expired(c);
    return consolePage(c, {
      title: 'Setup',
      children: <SetupForm token={token!} minLength={deps.config.password.minLength} />,
    });
  });
  app.post('/setup', async (c) => {
    const form = await readConsoleForm(c, deps.config.bodyLimit);
    if (!form) return tooLargePage(c);
    const token = form.get('token') ?? undefined;
    if (!(await setupTokenValid(storage, clock, token))) return expired(c);
    const input = {
      email: form.get('email') ?? '',
      password: form.get('password') ?? '',
      name: form.get('name') ?? '',
    };
    try {
      await completeSetup(
        storage,
        clock,
        token,
        { ...input, ...(input.name ? {} : { name: undefined }) },
        deps.config.password,
      );
    } catch (err) {
      if (!isAdminError(err)) throw err;
      const problem = new ApiError(400, err.message);
      const error = { message: err.message, ...(problem.field ? { field: problem.field } : {}) };
      return consolePage(
        c,
        {
          title: 'Setup',
          children: (
            <SetupForm
              token={token!}
              minLength={deps.config.password.minLength}
              email={input.email}
              name={input.name}
              error={error}
            />
          ),
        },
        400,
      );
    }
    return consolePage(c, {
      title: 'Admin created',
      children: (
        <article>
          <h1>Admin created</h1>
          <p>
            <a href="/console/login">Sign in to the console</a>
          </p>
        </article>
      ),
    });
  });
}
